"""`python -m audit.witness`: the inspectorate's witness process (see `audit.witness.core`).

    python -m audit.witness keygen inspectorate.ruian/witness   # prints signer + verifier keys
    python -m audit.witness run --url http://audit:8004 \\
        --log-key 'bianmin.ruian/audit+1234abcd+AQ...' --origin bianmin.ruian/audit \\
        --key-file witness.key --state-dir /var/lib/witness [--interval 10] [--once]

Every option can come from the environment: WITNESS_URL, WITNESS_LOG_KEY, WITNESS_ORIGIN,
WITNESS_KEY (or WITNESS_KEY_FILE), WITNESS_STATE_DIR, WITNESS_INTERVAL, WITNESS_ALARM_FILE.
Exit codes: 0 ok (--once), 1 log unavailable (--once), 2 bad usage, 3 ALARM (split view,
rollback, bad signature or inconsistent proof; details in the alarm file).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from eventkit import logging as jsonlog
from eventkit.clock import system_clock
from tlog.note import KeyFormatError, Signer, Verifier, generate_key

from .core import Witness, urllib_transport

app = typer.Typer(
    name="audit.witness",
    help="Witness the audit log: verify checkpoints and consistency, cosign, alarm.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def keygen(
    name: Annotated[str, typer.Argument(help="Key name, e.g. inspectorate.ruian/w1")],
) -> None:
    """Print a new Ed25519 key pair: the signer key (secret) then the verifier key."""
    signer, verifier = generate_key(name)
    typer.echo(signer)
    typer.echo(verifier)


@app.command()
def run(
    url: Annotated[str, typer.Option(envvar="WITNESS_URL", help="The audit service's base URL.")],
    log_key: Annotated[str, typer.Option(envvar="WITNESS_LOG_KEY", help="Log verifier key.")],
    origin: Annotated[str, typer.Option(envvar="WITNESS_ORIGIN", help="Checkpoint origin.")],
    state_dir: Annotated[Path, typer.Option(envvar="WITNESS_STATE_DIR", help="Own state.")],
    key: Annotated[str | None, typer.Option(envvar="WITNESS_KEY", help="Signer key.")] = None,
    key_file: Annotated[Path | None, typer.Option(envvar="WITNESS_KEY_FILE")] = None,
    interval: Annotated[float, typer.Option(envvar="WITNESS_INTERVAL")] = 10.0,
    once: Annotated[bool, typer.Option(help="One round, then exit.")] = False,
    publish: Annotated[bool, typer.Option(help="POST cosignatures back to the log.")] = True,
    alarm_file: Annotated[Path | None, typer.Option(envvar="WITNESS_ALARM_FILE")] = None,
) -> None:
    jsonlog.configure("witness", os.environ.get("WITNESS_LOG_LEVEL", "INFO"))
    try:
        secret = key_file.read_text().strip() if key_file else (key or "").strip()
        if not secret:
            raise KeyFormatError("no witness key: --key/WITNESS_KEY or --key-file")
        signer = Signer.from_key(secret)
        verifier = Verifier.from_key(log_key)
    except (KeyFormatError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    witness = Witness(
        urllib_transport(url),
        verifier,
        origin,
        signer,
        state_dir,
        clock=system_clock(),
        publish=publish,
        alarm_file=alarm_file,
    )
    raise typer.Exit(asyncio.run(witness.run(interval, once)))


if __name__ == "__main__":
    logging.getLogger("asyncio").setLevel(logging.WARNING)
    app(prog_name="python -m audit.witness")
    sys.exit(0)
