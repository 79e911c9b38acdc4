"""Issue 18, finding 4: nobody can poison the published checkpoint through the cosignature POST.

The finding: 97 signature lines from unknown keys, posted with the witness's real line,
were stored and merged (201); the public checkpoint then carried more than 100 signature
lines, the project's own verifier rejected it and the witness stopped with `bad_signature`.
Now only lines that verify against a configured witness key are stored and merged, anything
else is a 4xx that says why, and the POST is rate-limited per client.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from audit.log.checkpoint import make_checkpoint
from tlog.note import Signature, Signer, Verifier, add_signatures, generate_key, open_checkpoint

from .support import ORIGIN, append_leaves, make_keys, running_audit, settings_for, witness_for

pytestmark = pytest.mark.integration


def _junk_lines(note: str, n: int) -> str:
    """`note` plus `n` syntactically valid signature lines from keys nobody configured."""
    text, _, sigs = note.rpartition("\n\n")
    junk = [
        Signature(f"junk{i}.example/w", i, base64.b64encode(os.urandom(68)).decode()).line()
        for i in range(n)
    ]
    return text + "\n\n" + sigs.rstrip("\n") + "\n" + "".join(junk)


def _verify_offline(note: str, keys: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """The project's own offline verifier (`python -m tlog checkpoint`), as an inspector runs it."""
    path = tmp / "cp.note"
    path.write_text(note)
    args = [sys.executable, "-m", "tlog", "checkpoint", str(path)]
    for k in keys:
        args += ["--key", k]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


async def test_junk_cosignature_lines_are_refused_and_the_checkpoint_stays_verifiable(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    (intake,) = await topics("intake")
    keys = make_keys()
    w_skey, w_vkey = generate_key("inspectorate.test/w1")
    settings = settings_for(
        infra, pg_schema.schema, [intake], keys, witness_keys=w_vkey, run_writer=False
    )
    async with running_audit(settings, keys) as (_app, client):
        conn = await pg_schema.connect()
        try:
            log_signer = Signer.from_key(keys.signer)
            await append_leaves(conn, 5)
            await make_checkpoint(conn, log_signer, ORIGIN)
            witness = witness_for(client, keys, w_skey, tmp_path / "w")
            first = await witness.poll_once()
            assert first.published and first.cosigned is not None

            # the attack: the witness's real cosigned note plus 97 junk lines, twice
            for _ in range(2):
                poisoned = _junk_lines(first.cosigned, 97)
                r = await client.post("/v1/log/cosignatures", content=poisoned.encode())
                print("junk POST ->", r.status_code, r.json())
                assert r.status_code == 422, r.text
                assert "unknown key" in r.json()["detail"]["reason"]
                assert "junk0.example/w" in r.json()["detail"]["reason"]

            # a bad signature from the configured witness's own key name and ID
            text, _, sigs = first.cosigned.rpartition("\n\n")
            w_line = next(ln for ln in sigs.split("\n") if "inspectorate.test/w1" in ln)
            raw = bytearray(base64.b64decode(w_line.rsplit(" ", 1)[1]))
            raw[-1] ^= 1
            bad = (
                text
                + "\n\n"
                + sigs.replace(
                    w_line, w_line.rsplit(" ", 1)[0] + " " + base64.b64encode(bytes(raw)).decode()
                )
            )
            r = await client.post("/v1/log/cosignatures", content=bad.encode())
            assert r.status_code == 422, r.text
            assert "does not verify" in r.json()["detail"]["reason"]

            note = (await client.get("/v1/log/checkpoint")).text
            lines = note.rpartition("\n\n")[2].strip().split("\n")
            assert len(lines) == 2, note  # the log's signature and the witness's, nothing else
            cp, opened = open_checkpoint(note, [keys.log_verifier, Verifier.from_key(w_vkey)])
            assert cp.size == 5 and not opened.unverified_sigs
            verified = _verify_offline(note, [keys.verifier, w_vkey], tmp_path)
            print("offline verifier:", verified.returncode, verified.stdout.strip())
            assert verified.returncode == 0, verified.stderr

            # the witness keeps working
            await append_leaves(conn, 4, start=5)
            await make_checkpoint(conn, log_signer, ORIGIN)
            nxt = await witness.poll_once()
            assert (nxt.status, nxt.size, nxt.published) == ("new", 9, True)
        finally:
            await conn.close()


async def test_cosignature_posts_are_rate_limited_per_client(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    (intake,) = await topics("intake")
    keys = make_keys()
    _, w_vkey = generate_key("inspectorate.test/w1")
    settings = settings_for(
        infra, pg_schema.schema, [intake], keys, witness_keys=w_vkey, run_writer=False
    )
    async with running_audit(settings, keys) as (_app, client):
        stranger = Signer.from_key(generate_key("stranger.example/w")[0])
        conn = await pg_schema.connect()
        try:
            await append_leaves(conn, 3)
            await make_checkpoint(conn, Signer.from_key(keys.signer), ORIGIN)
        finally:
            await conn.close()
        note = (await client.get("/v1/log/checkpoint")).text
        body = add_signatures(note, [stranger]).encode()
        codes = [
            (await client.post("/v1/log/cosignatures", content=body)).status_code for _ in range(40)
        ]
        print("40 posts from one client:", codes)
        assert 429 in codes
        assert set(codes) <= {422, 429}
        limited = await client.post("/v1/log/cosignatures", content=body)
        if limited.status_code == 429:
            assert "Retry-After" in limited.headers
