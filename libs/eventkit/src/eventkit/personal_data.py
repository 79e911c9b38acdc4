"""Personal data by design (PIPL, issue 15): pseudonymous subjects and crypto-shredding.

An append-only history that keeps everything and a law that demands deletion are both
honoured by never writing a person's data in the clear where it cannot be deleted:

- **Subjects.** A resident is named in events, tokens, actors, Kafka keys and logs by a
  subject id (`subj-` + 128 random bits) that reveals nothing. `lookup_hash` maps an ID
  number to a subject without storing the number: HMAC-SHA256 under a key only the service
  entitled to the lookup holds (intake), so a stolen table cannot be reversed by hashing the
  1.1 billion possible numbers.
- **Data keys.** Each subject has one random 256-bit data key. Personal fields are sealed
  with it (`seal`: AES-256-GCM, a fresh 96-bit nonce per field). The associated data binds a
  sealed field to its subject, its case (the stream) and its field name, so a ciphertext
  copied into another case, another person or another field does not open. Destroying the
  one data key makes every copy of every sealed field unreadable at once: every topic, every
  store, every backup (crypto-shredding).
- **Key management.** Data keys are stored only wrapped by a master key (`KeyManager`).
  `LocalKeyManager` wraps with AES-256-GCM under master keys from settings (`make run`, tests,
  a city without a KMS). A real KMS plugs in by implementing the same two calls:
  `wrap` is the KMS's Encrypt (or GenerateDataKey) with the subject id as encryption
  context, `unwrap` its Decrypt; the master key never leaves the KMS, and its `key_id` names
  the KMS key so rotation works as below.
- **Rotation.** A wrapped key starts with the id of the master key that wrapped it; the
  local manager holds the current key and any number of retired ones, so a new master key
  is rolled out first, then old wrapped keys are rewrapped at leisure.

Nothing here does I/O: where wrapped keys are stored is the service's business
(intake keeps them in its PostgreSQL, `intake.personal_data`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SUBJECT_PREFIX = "subj-"
SUBJECT_RE = re.compile(r"^subj-[0-9a-f]{32}$")
SEALED_PREFIX = "pd1:"
"""A sealed field as it travels: `pd1:` + base64url(nonce || ciphertext+tag), no padding."""

_NONCE = 12
_LOOKUP_DOMAIN = b"bianmin.subject-lookup.v1:"
_WRAP_DOMAIN = b"bianmin.data-key.v1|"
_SEAL_DOMAIN = "bianmin.personal-field.v1"
MIN_KEY_BYTES = 32


class PersonalDataError(Exception):
    """A sealed field or wrapped key that does not open: tampered, moved, or its key is gone."""


class KeyDestroyed(PersonalDataError):
    """The subject's data key was destroyed (erasure): its sealed fields are gone for good."""


# -- subjects -------------------------------------------------------------------------------------
def new_subject_id() -> str:
    """A fresh pseudonym: random, so it says nothing about the person (not a hash of them)."""
    return SUBJECT_PREFIX + secrets.token_hex(16)


def is_subject_id(value: str) -> bool:
    return bool(SUBJECT_RE.match(value))


ID_NUMBER_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
"""An 18-character PRC ID number (GB 11643) anywhere in a string, check character or not."""


def holds_id_number(value: str) -> bool:
    """True if `value` holds what looks like an ID number: such a value may not name anyone
    (a token's `sub`, an actor id), since it would be written where it cannot be deleted."""
    return bool(ID_NUMBER_IN_TEXT.search(value))


def new_account_id() -> str:
    """A development identity provider's pseudonymous account id for a resident (`sub` of
    the tokens the demo, the portal's development sign-in and the tests mint): random, so
    it says nothing about the person; the real-name ID number travels in the `id_number`
    claim, which only intake reads. Drawn again in the rare case the random hex holds a
    run of digits that reads as an ID number (a token with it is refused: 1 run in CI)."""
    while True:
        account = "acct-" + secrets.token_hex(12)
        if not holds_id_number(account):
            return account


def normalize_id_number(id_number: str) -> str:
    """The form an ID number is hashed in: trimmed, the check character `x` upper-case."""
    return id_number.strip().upper()


def lookup_hash(id_number: str, key: bytes) -> str:
    """Keyed hash of an ID number for the lookup ID number -> subject (hex HMAC-SHA256)."""
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the lookup key must be at least {MIN_KEY_BYTES} bytes")
    data = _LOOKUP_DOMAIN + normalize_id_number(id_number).encode()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


# -- key management -------------------------------------------------------------------------------
def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


class KeyManager(Protocol):
    """Wraps and unwraps subjects' data keys with a master key the caller never sees."""

    @property
    def key_id(self) -> str:
        """The master key new wraps use (stored beside each wrapped key)."""
        ...

    def wrap(self, data_key: bytes, subject_id: str) -> bytes: ...

    def unwrap(self, wrapped: bytes, subject_id: str) -> bytes: ...


def master_key_id(master_key: bytes) -> str:
    """A master key's public name: the first 8 bytes of its SHA-256, hex (not reversible)."""
    return hashlib.sha256(b"bianmin.master-key-id:" + master_key).hexdigest()[:16]


class LocalKeyManager:
    """Master keys from settings (32 random bytes each): the first wraps, all unwrap.

    A wrapped key is `key id (16 ascii) || nonce || AES-GCM(data key)`, with
    the subject id as associated data: a wrapped key moved to another subject does not open.
    """

    def __init__(self, master_keys: list[bytes]) -> None:
        if not master_keys:
            raise ValueError("at least one master key is needed")
        for k in master_keys:
            if len(k) != MIN_KEY_BYTES:
                raise ValueError(f"a master key must be exactly {MIN_KEY_BYTES} bytes")
        self._keys: Mapping[str, AESGCM] = {master_key_id(k): AESGCM(k) for k in master_keys}
        self._current = master_key_id(master_keys[0])

    @classmethod
    def from_base64(cls, values: list[str]) -> LocalKeyManager:
        return cls([decode_key(v, "master key") for v in values])

    @property
    def key_id(self) -> str:
        return self._current

    def wrap(self, data_key: bytes, subject_id: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        ct = self._keys[self._current].encrypt(nonce, data_key, _WRAP_DOMAIN + subject_id.encode())
        return self._current.encode() + nonce + ct

    def unwrap(self, wrapped: bytes, subject_id: str) -> bytes:
        kid, nonce, ct = wrapped[:16].decode("ascii", "replace"), wrapped[16:28], wrapped[28:]
        aead = self._keys.get(kid)
        if aead is None:
            raise PersonalDataError(f"the data key was wrapped by master key {kid}, not held")
        try:
            return aead.decrypt(nonce, ct, _WRAP_DOMAIN + subject_id.encode())
        except InvalidTag as exc:
            raise PersonalDataError("the wrapped data key does not open for this subject") from exc


def decode_key(value: str, what: str) -> bytes:
    """A key given in settings as base64 (standard or url-safe) of exactly 32 bytes."""
    try:
        v = value.strip().replace("-", "+").replace("_", "/")
        raw = base64.b64decode(v + "=" * (-len(v) % 4), validate=True)
    except ValueError as exc:
        raise ValueError(f"the {what} is not base64") from exc
    if len(raw) != MIN_KEY_BYTES:
        raise ValueError(f"the {what} must be {MIN_KEY_BYTES} bytes (base64), not {len(raw)}")
    return raw


# -- sealed fields --------------------------------------------------------------------------------
def _aad(subject_id: str, case_id: str, field: str) -> bytes:
    return f"{_SEAL_DOMAIN}|{subject_id}|{case_id}|{field}".encode()


@dataclass(frozen=True, slots=True)
class SubjectKey:
    """A subject's unwrapped data key, held only while sealing or opening its fields."""

    subject_id: str
    data_key: bytes

    def seal(self, case_id: str, field: str, value: str, nonce: bytes | None = None) -> str:
        """`nonce`: a fresh random one unless given (only a deterministic generator gives
        its own, each used once under its key)."""
        if nonce is None:
            nonce = secrets.token_bytes(_NONCE)
        elif len(nonce) != _NONCE:
            raise ValueError(f"a nonce is {_NONCE} bytes")
        ct = AESGCM(self.data_key).encrypt(
            nonce, value.encode(), _aad(self.subject_id, case_id, field)
        )
        return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + ct).decode().rstrip("=")

    def open(self, case_id: str, field: str, sealed: str) -> str:
        raw = _decode_sealed(sealed)
        try:
            plain = AESGCM(self.data_key).decrypt(
                raw[:_NONCE], raw[_NONCE:], _aad(self.subject_id, case_id, field)
            )
        except InvalidTag as exc:
            raise PersonalDataError(
                f"{field} of {case_id} does not open with {self.subject_id}'s key"
            ) from exc
        return plain.decode()


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


def _decode_sealed(sealed: str) -> bytes:
    if not is_sealed(sealed):
        raise PersonalDataError("not a sealed field")
    body = sealed[len(SEALED_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as exc:
        raise PersonalDataError("a sealed field that is not base64url") from exc
    if len(raw) < _NONCE + 16:
        raise PersonalDataError("a sealed field too short to hold a nonce and a tag")
    return raw


def subject_key(km: KeyManager, subject_id: str, wrapped: bytes | None) -> SubjectKey:
    """The subject's key from its stored wrapped form; None (the row was destroyed by an
    erasure) is `KeyDestroyed`, never an empty or default key."""
    if wrapped is None:
        raise KeyDestroyed(f"the data key of {subject_id} was destroyed")
    return SubjectKey(subject_id, km.unwrap(wrapped, subject_id))
