"""Out of the box, `make run` configures the audit fully: the conflict-of-interest rule works
(a staff identity registered at intake answers, intake finds the staff member's own
application under its lookup key and the audit flags the case from that finding), a
witness runs and cosigns checkpoints, and an inspector verifies a checkpoint and an inclusion
proof with `python -m tlog` and only the keys fetched over HTTP.

Like test_make_run_supervises: the real `make run` in its own state folder and ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.common import repo_root
from eventkit.auth import load_private_key, mint_token

from .test_make_run_supervises import Output, stack_env  # noqa: F401  (a fixture)

pytestmark = pytest.mark.e2e

STAFF = "ruian.mayu.mabei.agent1"  # 黄美燕, seeded at 马北社区 (intake checks the staff directory)
ID_NUMBER = "330381199004151239"
APPLICATION = {
    "item_code": "FP-002",
    "deposit_paid_fen": 300000,
    "payment_receipt_no": "MB-2026-000123",
    "applicant": {
        "name": "陈小芳",
        "id_number": ID_NUMBER,
        "phone": "13957712345",
        "registered_community_id": "ruian.mayu.mabei",
        "address": "瑞安市马屿镇马北社区新街12号",
    },
    "materials_provided": [
        {"code": "APPLICATION_FORM", "form": "original"},
        {"code": "ID_CARD", "form": "copy"},
    ],
}
WITNESS = "inspectorate.ruian/witness"
LOG = "bianmin.ruian/audit"


def poll(fetch: Any, timeout: float, what: str) -> Any:
    """`fetch()` until it returns something truthy (polling a running system; the test runs
    on threads, so this is `polling.eventually`'s synchronous twin): `fetch` must accept
    every intermediate state, and the deadline names what was awaited and the last value."""
    deadline = time.monotonic() + timeout
    while True:
        got = fetch()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s; last: {got!r}"
        time.sleep(0.5)


def tlog(*args: str) -> subprocess.CompletedProcess[str]:
    python = str(repo_root() / ".venv" / "bin" / "python")
    return subprocess.run([python, "-m", "tlog", *args], capture_output=True, text=True, timeout=60)


def test_make_run_configures_the_hmac_rule_and_a_witness_whose_keys_are_served(
    stack_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    env = dict(stack_env, WITNESS_INTERVAL="1", AUDIT_CHECKPOINT_SECONDS="1")
    state = Path(env["BIANMIN_STATE_DIR"])
    intake = f"http://127.0.0.1:{env['INTAKE_HTTP_PORT']}"
    audit = f"http://127.0.0.1:{env['AUDIT_HTTP_PORT']}"
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"RUN_STOP_FILE={tmp_path / 'make-run.pid'}"],
        cwd=repo_root(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    out = Output(make)
    try:
        out.wait_for("Bianmin is up", 180)
        out.wait_for("witness  cosigns the audit log's checkpoints", 60)
        key = load_private_key((state / "dev-jwt.pem").read_text())

        def bearer(role: str, sub: str, org: str, tier: str) -> dict[str, str]:
            token = mint_token(key, sub=sub, role=role, org_id=org, tier=tier)
            return {"Authorization": f"Bearer {token}"}

        admin = bearer("admin", "admin.li", "ruian", "city")
        inspector = bearer("inspector", "insp.zhou", "ruian", "city")
        agent = bearer("community_agent", STAFF, "ruian.mayu.mabei", "community")
        with httpx.Client(timeout=30) as http:
            # the keys, over HTTP, no token
            log_vkey = http.get(f"{audit}/v1/log/public-key").text
            witness_vkey = http.get(f"{audit}/v1/log/witness-keys").text
            assert log_vkey.startswith(LOG + "+") and witness_vkey.startswith(WITNESS + "+")
            (tmp_path / "log.vkey").write_text(log_vkey)
            (tmp_path / "witness.vkey").write_text(witness_vkey)

            # 回避: a staff identity is kept (keyed hashes at intake, which opens sealed
            # applicants), and the staff member's own application is flagged. Intake learns
            # its staff directory from routing's events: "up" (every /readyz ok) can come
            # before it has read them; until then the staff member is a 404.
            def register() -> httpx.Response | None:
                r = http.put(
                    f"{intake}/v1/admin/staff/{STAFF}/identity",
                    json={"id_number": ID_NUMBER},
                    headers=admin,
                )
                return None if r.status_code == 404 else r

            r = poll(register, 60, "intake to know the staff member routing publishes")
            assert r.status_code == 200, r.text
            assert r.json()["kinds"] == ["id_number"]

            # intake learns the org tree and its staff from routing's events: "up" (every
            # /readyz ok) can come before it has read them all. A refusal changes nothing.
            def submit() -> httpx.Response | None:
                r = http.post(
                    f"{intake}/v1/applications",
                    json=APPLICATION,
                    headers={**agent, "Idempotency-Key": str(uuid.uuid4())},
                )
                waiting = r.status_code in (403, 422) and "org tree" in r.text
                return None if waiting else r

            r = poll(submit, 60, "intake to know the org tree routing publishes")
            assert r.status_code == 201, r.text
            case = r.json()["case_id"]
            submitted = r.json()["events"][0]["event_id"]

            def flags() -> list[dict[str, Any]]:
                r = http.get(f"{audit}/v1/inspect/anomalies?case={case}", headers=inspector)
                return [a for a in r.json()["items"] if a["rule"].startswith("staff_handles")]

            (flag,) = poll(flags, 90, "the conflict-of-interest flag")
            assert flag["details"]["details"]["staff_id"] == STAFF

            # a checkpoint covering the application, cosigned by the witness
            def leaf_index() -> int | None:
                r = http.get(f"{audit}/v1/log/events/{submitted}", headers=inspector)
                return int(r.json()["index"]) if r.status_code == 200 else None

            index = poll(leaf_index, 60, "the application's leaf")

            def cosigned() -> str | None:
                r = http.get(f"{audit}/v1/log/checkpoint")
                if r.status_code == 404:  # no checkpoint signed yet
                    return None
                assert r.status_code == 200, r.text
                note = r.text
                size = int(note.split("\n")[1])
                return note if size > index and f"— {WITNESS} " in note else None

            try:
                note = poll(cosigned, 90, "a checkpoint cosigned by the witness")
            except AssertionError as exc:  # say why: the witness's alarm and make run's output
                alarm = state / "witness" / "ALARM.json"
                said = alarm.read_text() if alarm.exists() else "(no ALARM.json)"
                raise AssertionError(f"{exc}\nwitness: {said}\nmake run:\n{out.tail(60)}") from exc
            (tmp_path / "cp.note").write_text(note)
            size = int(note.split("\n")[1])
            proof = http.get(
                f"{audit}/v1/log/proof/inclusion",
                params={"event_id": submitted, "tree_size": size},
            ).json()
            (tmp_path / "p.json").write_text(json.dumps(proof))

        log_key, w_key = f"@{tmp_path / 'log.vkey'}", f"@{tmp_path / 'witness.vkey'}"
        cp = str(tmp_path / "cp.note")
        res = tlog("checkpoint", cp, "--origin", LOG, "--key", log_key, "--key", w_key)
        assert res.returncode == 0, res.stderr
        assert f"OK: checkpoint signed by {LOG}, {WITNESS}" in res.stdout
        res = tlog("checkpoint", cp, "--key", w_key)  # the witness's key alone
        assert res.returncode == 0 and f"signed by {WITNESS}" in res.stdout, res.stderr
        res = tlog("inclusion", "-c", cp, "-p", str(tmp_path / "p.json"), "--key", log_key)
        assert res.returncode == 0, res.stderr
        assert f"OK: leaf {index} " in res.stdout
        assert (state / "witness" / "checkpoints" / f"{size}.note").exists()
        assert not any("ALARM" in ln for ln in out.lines)

        make.send_signal(signal.SIGTERM)
        make.wait(timeout=90)
        out.wait_for("everything stopped (", 60)  # read on a thread: it may lag make's exit
    finally:
        if make.poll() is None:
            make.send_signal(signal.SIGTERM)
            try:
                make.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(make.pid, signal.SIGKILL)
                make.wait()
    print("\n".join(out.supervisor_lines()))
