"""The one settings model every Kafka client logs in with (eventkit.kafka_security)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from eventkit.kafka_security import KafkaSecurity, client_kwargs, faststream_security

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def no_login_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's fixtures log in as the local admin through these variables."""
    import os

    for key in [
        k for k in os.environ if k.startswith(("KAFKA_SECURITY_", "KAFKA_SASL_", "KAFKA_SSL_"))
    ]:
        monkeypatch.delenv(key)


def test_no_settings_is_plaintext() -> None:
    assert client_kwargs(KafkaSecurity()) == {"security_protocol": "PLAINTEXT"}
    assert faststream_security(KafkaSecurity()) is None


def test_a_user_from_the_environment_logs_in_with_scram(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "intake")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD_FILE", str(pw))
    assert client_kwargs() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "intake",
        "sasl_plain_password": "s3cret",
    }
    sec = faststream_security()
    assert (type(sec).__name__, sec.username, sec.password) == ("SASLScram512", "intake", "s3cret")


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"security_protocol": "SASL_SSL"}, "KAFKA_SASL_USERNAME"),
        ({"sasl_username": "intake"}, "KAFKA_SASL_PASSWORD"),
        ({"ssl_certfile": "/nowhere.pem"}, "KAFKA_SSL_KEYFILE"),
        ({"ssl_cafile": "/nowhere/ca.pem"}, "KAFKA_SSL_CAFILE"),
    ],
)
def test_a_setting_that_cannot_work_is_refused_by_name(given: dict[str, str], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        KafkaSecurity(**given)  # type: ignore[arg-type]


def test_a_ca_file_turns_tls_on(tmp_path: Path) -> None:
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kw = client_kwargs(KafkaSecurity(sasl_username="audit", sasl_password="x", ssl_cafile=path))
    assert kw["security_protocol"] == "SASL_SSL"
    assert isinstance(kw["ssl_context"], ssl.SSLContext)
    assert kw["ssl_context"].check_hostname
