"""The log publishes its verifier key and its witnesses' keys over HTTP (no token), in the
C2SP signed-note format the offline verifier reads: a checkpoint cosigned by the witness
verifies with exactly the keys fetched from these routes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from audit.log.checkpoint import make_checkpoint
from tlog.note import Signer, Verifier, add_signatures, generate_key
from tlog.verify_cli import app as tlog_app

from .support import ORIGIN, append_leaves, make_keys, running_audit, settings_for

pytestmark = pytest.mark.integration


async def test_the_keys_are_served_and_verify_a_cosigned_checkpoint(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    (intake,) = await topics("intake")
    keys = make_keys()
    w_signer, w_vkey = generate_key("inspectorate.test/w1")
    settings = settings_for(
        infra, pg_schema.schema, [intake], keys, witness_keys=w_vkey, run_writer=False
    )
    async with running_audit(settings, keys) as (_app, client):
        r = await client.get("/v1/log/public-key")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        assert r.text == keys.verifier + "\n"
        assert Verifier.from_key(r.text) == keys.log_verifier

        r = await client.get("/v1/log/witness-keys")
        assert r.status_code == 200 and r.text == w_vkey + "\n"

        body = (await client.get("/v1/log/keys")).json()
        lv, wv = keys.log_verifier, Verifier.from_key(w_vkey)
        assert body["origin"] == ORIGIN
        assert body["log"]["verifier_key"] == keys.verifier
        assert body["log"]["name"] == ORIGIN and body["log"]["key_id"] == f"{lv.key_hash:08x}"
        assert [w["verifier_key"] for w in body["witnesses"]] == [w_vkey]
        assert body["witnesses"][0]["key_id"] == f"{wv.key_hash:08x}"

        # a checkpoint, cosigned by the witness through the log's own route
        conn = await pg_schema.connect()
        try:
            await append_leaves(conn, 3)
            await make_checkpoint(conn, Signer.from_key(keys.signer), ORIGIN)
        finally:
            await conn.close()
        note = (await client.get("/v1/log/checkpoint")).text
        cosigned = add_signatures(note, [Signer.from_key(w_signer)])
        assert (await client.post("/v1/log/cosignatures", content=cosigned)).status_code == 201

        cp = tmp_path / "cp.note"
        cp.write_text((await client.get("/v1/log/checkpoint")).text)
        (tmp_path / "log.vkey").write_text((await client.get("/v1/log/public-key")).text)
        (tmp_path / "w.vkey").write_text((await client.get("/v1/log/witness-keys")).text)

    runner = CliRunner()
    log_key, w_key = f"@{tmp_path / 'log.vkey'}", f"@{tmp_path / 'w.vkey'}"
    res = runner.invoke(
        tlog_app, ["checkpoint", str(cp), "--origin", ORIGIN, "--key", log_key, "--key", w_key]
    )
    assert res.exit_code == 0, res.output
    assert f"OK: checkpoint signed by {ORIGIN}, inspectorate.test/w1" in res.output
    assert "size:   3" in res.output
    # the witness's key alone verifies its cosignature
    res = runner.invoke(tlog_app, ["checkpoint", str(cp), "--key", w_key])
    assert res.exit_code == 0 and "signed by inspectorate.test/w1" in res.output


async def test_a_log_without_a_key_says_so(infra, pg_schema, topics) -> None:
    (intake,) = await topics("intake")
    settings = settings_for(infra, pg_schema.schema, [intake], None, run_writer=False)
    async with running_audit(settings, None) as (_app, client):
        r = await client.get("/v1/log/public-key")
        assert r.status_code == 503
        assert "AUDIT_SIGNING_KEY_FILE" in r.json()["detail"]["reason"]
        assert (await client.get("/v1/log/witness-keys")).text == ""
        assert (await client.get("/v1/log/keys")).status_code == 503
