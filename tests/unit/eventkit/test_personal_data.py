"""Pseudonymous subjects and crypto-shredding (`eventkit.personal_data`): what opens, and
everything that must not (a tampered byte, a field moved to another case, person or field,
a foreign master key, a destroyed data key)."""

from __future__ import annotations

import base64
import secrets

import pytest

from eventkit.personal_data import (
    SEALED_PREFIX,
    KeyDestroyed,
    LocalKeyManager,
    PersonalDataError,
    SubjectKey,
    decode_key,
    is_sealed,
    is_subject_id,
    lookup_hash,
    new_data_key,
    new_subject_id,
    subject_key,
)

pytestmark = pytest.mark.unit

ID_NUMBER = "11010519491231002X"


def _km(*keys: bytes) -> LocalKeyManager:
    return LocalKeyManager(list(keys) or [secrets.token_bytes(32)])


def test_subject_ids_are_random_and_reveal_nothing() -> None:
    a, b = new_subject_id(), new_subject_id()
    assert a != b
    assert is_subject_id(a) and is_subject_id(b)
    assert not is_subject_id(ID_NUMBER)
    assert ID_NUMBER not in a and ID_NUMBER.lower() not in a


def test_lookup_hash_is_keyed_and_normalizes() -> None:
    k1, k2 = secrets.token_bytes(32), secrets.token_bytes(32)
    h = lookup_hash(ID_NUMBER, k1)
    assert h == lookup_hash(" 11010519491231002x ", k1)
    assert h != lookup_hash(ID_NUMBER, k2)
    assert h != lookup_hash("110105194912310029", k1)
    assert ID_NUMBER not in h and len(h) == 64


def test_lookup_hash_refuses_a_short_key() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        lookup_hash(ID_NUMBER, b"short")


def test_seal_round_trip_and_ciphertext_holds_no_plaintext() -> None:
    key = SubjectKey(new_subject_id(), new_data_key())
    sealed = key.seal("case-1", "applicant.name", "张三")
    assert is_sealed(sealed) and sealed.startswith(SEALED_PREFIX)
    assert "张三" not in sealed
    assert key.open("case-1", "applicant.name", sealed) == "张三"
    # a fresh nonce each time: the same value never gives the same bytes
    assert key.seal("case-1", "applicant.name", "张三") != sealed


@pytest.mark.parametrize(
    ("case_id", "field", "other_subject"),
    [
        ("case-2", "applicant.name", False),  # copied into another case
        ("case-1", "applicant.phone", False),  # moved to another field
        ("case-1", "applicant.name", True),  # another person's key
    ],
)
def test_a_sealed_field_is_bound_to_subject_case_and_field(
    case_id: str, field: str, other_subject: bool
) -> None:
    key = SubjectKey(new_subject_id(), new_data_key())
    sealed = key.seal("case-1", "applicant.name", "张三")
    opener = SubjectKey(new_subject_id(), new_data_key()) if other_subject else key
    with pytest.raises(PersonalDataError, match="does not open"):
        opener.open(case_id, field, sealed)


def test_a_tampered_byte_is_detected() -> None:
    key = SubjectKey(new_subject_id(), new_data_key())
    sealed = key.seal("case-1", "applicant.phone", "13800138000")
    raw = bytearray(base64.urlsafe_b64decode(sealed[4:] + "=" * (-len(sealed[4:]) % 4)))
    raw[-1] ^= 0x01
    tampered = SEALED_PREFIX + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(PersonalDataError):
        key.open("case-1", "applicant.phone", tampered)
    with pytest.raises(PersonalDataError, match="not a sealed field"):
        key.open("case-1", "applicant.phone", "13800138000")
    with pytest.raises(PersonalDataError, match="too short"):
        key.open("case-1", "applicant.phone", SEALED_PREFIX + "AAAA")


def test_wrap_unwrap_and_the_subject_is_bound() -> None:
    km = _km()
    subject, other = new_subject_id(), new_subject_id()
    dk = new_data_key()
    wrapped = km.wrap(dk, subject)
    assert dk not in wrapped
    assert km.unwrap(wrapped, subject) == dk
    with pytest.raises(PersonalDataError, match="does not open"):
        km.unwrap(wrapped, other)


def test_a_foreign_master_key_does_not_unwrap_and_rotation_keeps_old_keys() -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    subject = new_subject_id()
    dk = new_data_key()
    wrapped_old = LocalKeyManager([old]).wrap(dk, subject)
    with pytest.raises(PersonalDataError, match="not held"):
        LocalKeyManager([new]).unwrap(wrapped_old, subject)
    rotated = LocalKeyManager([new, old])
    assert rotated.unwrap(wrapped_old, subject) == dk
    assert rotated.wrap(dk, subject)[:16].decode() == rotated.key_id != wrapped_old[:16].decode()


def test_a_destroyed_key_opens_nothing() -> None:
    km = _km()
    subject = new_subject_id()
    wrapped = km.wrap(new_data_key(), subject)
    sealed = subject_key(km, subject, wrapped).seal("case-1", "applicant.id_number", ID_NUMBER)
    assert subject_key(km, subject, wrapped).open("case-1", "applicant.id_number", sealed) == (
        ID_NUMBER
    )
    with pytest.raises(KeyDestroyed, match="destroyed"):
        subject_key(km, subject, None)
    # a fresh key for the same subject (a resident who comes back) opens none of the old data
    again = subject_key(km, subject, km.wrap(new_data_key(), subject))
    with pytest.raises(PersonalDataError):
        again.open("case-1", "applicant.id_number", sealed)


def test_master_keys_from_settings_are_checked() -> None:
    good = base64.b64encode(secrets.token_bytes(32)).decode()
    assert len(decode_key(good, "master key")) == 32
    with pytest.raises(ValueError, match="must be 32 bytes"):
        decode_key(base64.b64encode(b"x" * 16).decode(), "master key")
    with pytest.raises(ValueError, match="not base64"):
        decode_key("!!!", "master key")
    with pytest.raises(ValueError, match="at least one"):
        LocalKeyManager([])
    with pytest.raises(ValueError, match="exactly 32"):
        LocalKeyManager([b"short"])


def test_an_account_id_never_reads_as_an_id_number() -> None:
    from eventkit.personal_data import holds_id_number, new_account_id

    assert not any(holds_id_number(new_account_id()) for _ in range(20_000))
