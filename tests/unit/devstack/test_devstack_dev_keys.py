"""`make run` configures the audit out of the box: an HMAC key for personal data, the log's
signing key, and a witness whose key the audit accepts and which checks the log's key."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.cli import dev_secrets, log_verifier_key, witness_child, witness_env
from devstack.supervisor import Output
from tlog.note import Signer, Verifier, generate_key

pytestmark = pytest.mark.unit

SECRETS = (
    "AUTH_PUBLIC_KEY_FILE",
    "AUTH_PRIVATE_KEY_FILE",
    "INTAKE_VERIFICATION_SECRET",
    "INTAKE_PERSONAL_DATA_MASTER_KEYS",
    "INTAKE_PERSONAL_DATA_LOOKUP_KEY",
    "AUDIT_SIGNING_KEY_FILE",
    "AUDIT_PERSONAL_HMAC_KEY",
    "AUDIT_WITNESS_KEYS",
    "AUDIT_SIGNING_KEY",
    "AUDIT_VERIFIER_KEY",
    "AUDIT_LOG_ORIGIN",
)


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BIANMIN_STATE_DIR", str(tmp_path))
    for k in SECRETS:
        monkeypatch.delenv(k, raising=False)
    for k in ("WITNESS_URL", "WITNESS_LOG_KEY", "WITNESS_KEY_FILE", "WITNESS_STATE_DIR"):
        monkeypatch.delenv(k, raising=False)
    return tmp_path


def test_the_audit_gets_an_hmac_key_a_log_key_and_the_witness_key(state: Path) -> None:
    env = dev_secrets()
    assert len(env["AUDIT_PERSONAL_HMAC_KEY"]) == 64
    assert (state / "dev-audit-hmac-key").stat().st_mode & 0o777 == 0o600
    log_signer = Signer.from_key(Path(env["AUDIT_SIGNING_KEY_FILE"]).read_text())
    witness_signer = Signer.from_key((state / "dev-witness-signer.key").read_text())
    assert (state / "dev-witness-signer.key").stat().st_mode & 0o777 == 0o600
    assert Verifier.from_key(env["AUDIT_WITNESS_KEYS"]) == witness_signer.verifier()
    assert witness_signer.name == "inspectorate.ruian/witness"
    assert (state / "dev-audit-verifier.key").read_text().strip() == (
        log_signer.verifier().to_key()
    )
    assert dev_secrets() == env  # made once, then reused


def test_intake_gets_personal_data_keys_of_32_bytes(state: Path) -> None:
    from eventkit.personal_data import LocalKeyManager, decode_key

    env = dev_secrets()
    LocalKeyManager.from_base64([env["INTAKE_PERSONAL_DATA_MASTER_KEYS"]])
    assert len(decode_key(env["INTAKE_PERSONAL_DATA_LOOKUP_KEY"], "lookup key")) == 32
    assert env["INTAKE_PERSONAL_DATA_MASTER_KEYS"] != env["INTAKE_PERSONAL_DATA_LOOKUP_KEY"]
    assert (state / "dev-personal-data-master-key").stat().st_mode & 0o777 == 0o600


def test_the_witness_checks_the_key_the_audit_signs_with(state: Path) -> None:
    env = dev_secrets()
    w = witness_env(env, 31004)
    log_key = Signer.from_key(Path(env["AUDIT_SIGNING_KEY_FILE"]).read_text()).verifier()
    assert w["WITNESS_URL"] == "http://127.0.0.1:31004"
    assert w["WITNESS_LOG_KEY"] == log_key.to_key()
    assert w["WITNESS_ORIGIN"] == "bianmin.ruian/audit"
    assert w["WITNESS_KEY_FILE"] == str(state / "dev-witness-signer.key")
    assert w["WITNESS_STATE_DIR"] == str(state / "witness")


def test_a_signing_key_given_in_the_environment_wins_for_both(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    skey, vkey = generate_key("prod.example/audit")
    monkeypatch.setenv("AUDIT_SIGNING_KEY", skey)
    monkeypatch.setenv("AUDIT_LOG_ORIGIN", "prod.example/audit")
    env = {**dev_secrets(), "AUDIT_SIGNING_KEY": skey, "AUDIT_LOG_ORIGIN": "prod.example/audit"}
    del env["AUDIT_SIGNING_KEY_FILE"]
    assert log_verifier_key(env) == vkey
    w = witness_env(env, 8004)
    assert (w["WITNESS_LOG_KEY"], w["WITNESS_ORIGIN"]) == (vkey, "prod.example/audit")


def test_the_witness_is_a_child_without_a_port_and_an_alarm_is_final(state: Path) -> None:
    child = witness_child(dev_secrets(), 8004, Output())
    assert child.port is None
    assert child.argv[1:] == ["-m", "audit.witness", "run"]
    assert 3 in child.final_exits and "ALARM" in child.final_exits[3]
    assert child.env["WITNESS_URL"] == "http://127.0.0.1:8004"
