"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and tlog checkpoints on top.

Keys, key IDs and the wire format match golang.org/x/mod/sumdb/note, so notes and keys interoperate
with the Go transparency-log ecosystem (witnesses, `note` tooling):

* key ID = first 4 bytes (big-endian uint32) of SHA-256(name || 0x0A || 0x01 || 32-byte pubkey);
* verifier key ``<name>+<8 hex key ID>+<base64(0x01 || pubkey)>``;
* signer key ``PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || 32-byte seed)>``;
* note = text (ending in a newline) + a blank line + lines ``— <name> <base64(key ID || sig)>``.

Parsing is strict (canonical base64, no control characters, valid key names) because the offline
verifier runs on files handed over by the party being audited.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from .hashing import HASH_SIZE

__all__ = [
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "Checkpoint",
    "CheckpointError",
    "InvalidSignatureError",
    "KeyFormatError",
    "MalformedNoteError",
    "Note",
    "NoteError",
    "Signature",
    "Signer",
    "UnverifiedNoteError",
    "Verifier",
    "add_signatures",
    "generate_key",
    "key_id",
    "open_checkpoint",
    "open_note",
    "sign_checkpoint",
    "sign_note",
]

ALG_ED25519 = 0x01
"""Signature type byte for Ed25519 (c2sp.org/signed-note)."""

MAX_SIGNATURES = 100
"""Signature lines accepted per note (the spec requires at least 16; Go uses 100)."""

_SIG_PREFIX = "— "  # em dash U+2014, then a space
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class NoteError(ValueError):
    """Base class for signed-note errors."""


class MalformedNoteError(NoteError):
    """The note does not follow the signed-note syntax."""


class KeyFormatError(NoteError):
    """A signer or verifier key string is malformed or inconsistent."""


class InvalidSignatureError(NoteError):
    """A signature from a known key (name and key ID match) does not verify."""

    def __init__(self, name: str, key_hash: int) -> None:
        super().__init__(f"invalid signature for key {name}+{key_hash:08x}")
        self.name = name
        self.key_hash = key_hash


class UnverifiedNoteError(NoteError):
    """No signature on the note is from a known key; `note` holds what was parsed."""

    def __init__(self, note: Note) -> None:
        super().__init__("note has no verifiable signatures")
        self.note = note


class CheckpointError(ValueError):
    """A checkpoint body does not follow c2sp.org/tlog-checkpoint."""


def _b64decode(s: str, what: str, exc: type[ValueError]) -> bytes:
    """Strict standard base64: padded, no whitespace, canonical (re-encodes to the same text)."""
    try:
        raw = base64.b64decode(s.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise exc(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != s:
        raise exc(f"{what} is not canonical base64")
    return raw


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _valid_name(name: str) -> bool:
    """Non-empty, no Unicode spaces, no '+' (and no control characters)."""
    return (
        bool(name)
        and "+" not in name
        and not any(ch.isspace() for ch in name)
        and not _CONTROL.search(name)
    )


def key_id(name: str, public_key: bytes) -> int:
    """The 32-bit Ed25519 key ID: SHA-256(name || 0x0A || 0x01 || public_key)[:4], big-endian."""
    if len(public_key) != 32:
        raise KeyFormatError("Ed25519 public key must be 32 bytes")
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Verifier:
    """An Ed25519 note verifier: a key name, its key ID and the public key."""

    name: str
    key_hash: int
    public_key: bytes

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise KeyFormatError(f"invalid key name {self.name!r}")
        if key_id(self.name, self.public_key) != self.key_hash:
            raise KeyFormatError("key ID does not match name and public key")

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> Verifier:
        return cls(name, key_id(name, public_key), bytes(public_key))

    @classmethod
    def from_key(cls, vkey: str) -> Verifier:
        """Parse ``<name>+<hex key ID>+<base64(0x01 || pubkey)>``."""
        parts = vkey.strip().split("+", 2)  # base64 may contain "+"
        if len(parts) != 3:
            raise KeyFormatError("verifier key must be <name>+<hex key ID>+<base64 key>")
        name, hex_id, b64 = parts
        if not _valid_name(name):
            raise KeyFormatError(f"invalid key name {name!r}")
        key_hash = _parse_key_id(hex_id)
        raw = _b64decode(b64, "verifier key", KeyFormatError)
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise KeyFormatError("verifier key is not a 0x01 (Ed25519) 32-byte public key")
        return cls(name, key_hash, raw[1:])

    def to_key(self) -> str:
        return f"{self.name}+{self.key_hash:08x}+{_b64(bytes([ALG_ED25519]) + self.public_key)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def _parse_key_id(hex_id: str) -> int:
    if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise KeyFormatError("key ID must be 8 lowercase hex digits")
    return int(hex_id, 16)


@dataclass(frozen=True, slots=True)
class Signer:
    """An Ed25519 note signer (holds the private seed: keep it out of logs)."""

    name: str
    key_hash: int
    _private: Ed25519PrivateKey = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise KeyFormatError(f"invalid key name {self.name!r}")
        if key_id(self.name, _raw_public(self._private.public_key())) != self.key_hash:
            raise KeyFormatError("key ID does not match name and key")

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        if len(seed) != 32:
            raise KeyFormatError("Ed25519 seed must be 32 bytes")
        private = Ed25519PrivateKey.from_private_bytes(bytes(seed))
        return cls(name, key_id(name, _raw_public(private.public_key())), private)

    @classmethod
    def from_key(cls, skey: str) -> Signer:
        """Parse ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``."""
        skey = skey.strip()
        if not skey.startswith(_PRIVATE_PREFIX):
            raise KeyFormatError("signer key must start with PRIVATE+KEY+")
        parts = skey[len(_PRIVATE_PREFIX) :].split("+", 2)
        if len(parts) != 3:
            raise KeyFormatError("signer key must be PRIVATE+KEY+<name>+<hex key ID>+<base64>")
        name, hex_id, b64 = parts
        key_hash = _parse_key_id(hex_id)
        raw = _b64decode(b64, "signer key", KeyFormatError)
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise KeyFormatError("signer key is not a 0x01 (Ed25519) 32-byte seed")
        signer = cls.from_seed(name, raw[1:])
        if signer.key_hash != key_hash:
            raise KeyFormatError("key ID does not match name and key")
        return signer

    def to_key(self) -> str:
        seed = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_hash:08x}+{_b64(bytes([1]) + seed)}"

    def verifier(self) -> Verifier:
        return Verifier.from_public_key(self.name, _raw_public(self._private.public_key()))

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)


def generate_key(name: str) -> tuple[str, str]:
    """A fresh Ed25519 key pair as (signer key string, verifier key string)."""
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    signer = Signer.from_seed(name, seed)
    return signer.to_key(), signer.verifier().to_key()


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line: key name, key ID and the base64 of (key ID || signature)."""

    name: str
    key_hash: int
    base64: str

    def line(self) -> str:
        return f"{_SIG_PREFIX}{self.name} {self.base64}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """An opened note: its text and which signatures were verified / from unknown keys."""

    text: str
    verified_sigs: tuple[Signature, ...] = ()
    unverified_sigs: tuple[Signature, ...] = ()


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise MalformedNoteError("note text must be str")
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end with a newline")
    if _CONTROL.search(text):
        raise MalformedNoteError("note text contains control characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedNoteError("note text is not valid UTF-8") from None


def _split_note(note: str | bytes) -> tuple[str, list[Signature]]:
    """Syntax-check a signed note; return its text and signature lines (nothing verified)."""
    if isinstance(note, bytes | bytearray):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNoteError("note is not valid UTF-8") from None
    if _CONTROL.search(note):
        raise MalformedNoteError("note contains control characters")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedNoteError("note is not valid UTF-8") from None
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise MalformedNoteError("signature block is empty or lacks its final newline")
    sigs: list[Signature] = []
    for line in block[:-1].split("\n"):
        if not line.startswith(_SIG_PREFIX):
            raise MalformedNoteError(f"not a signature line: {line[:40]!r}")
        name, sep, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep or not _valid_name(name) or not b64:
            raise MalformedNoteError(f"malformed signature line: {line[:40]!r}")
        raw = _b64decode(b64, "signature", MalformedNoteError)
        if len(raw) < 5:
            raise MalformedNoteError("signature is too short")
        sigs.append(Signature(name, int.from_bytes(raw[:4], "big"), b64))
        if len(sigs) > MAX_SIGNATURES:
            raise MalformedNoteError(f"more than {MAX_SIGNATURES} signatures")
    return text, sigs


def _sign_lines(text: str, signers: Iterable[Signer]) -> list[Signature]:
    out = []
    for s in signers:
        sig = s.key_hash.to_bytes(4, "big") + s.sign(text.encode("utf-8"))
        out.append(Signature(s.name, s.key_hash, _b64(sig)))
    return out


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """Sign `text` (which must end with a newline) with every signer; returns the note."""
    _check_text(text)
    if not signers:
        raise ValueError("at least one signer is required")
    return text + "\n" + "".join(s.line() for s in _sign_lines(text, signers))


def add_signatures(note: str, signers: Sequence[Signer]) -> str:
    """Add signature lines (e.g. a witness cosignature) to an already-signed note.

    Existing lines are kept in order, except those with the same key name and ID as a new signer,
    which are replaced; new lines are appended. This does NOT verify the existing signatures: open
    the note with the log's verifier first.
    """
    text, sigs = _split_note(note)
    new = _sign_lines(text, signers)
    replaced = {(s.name, s.key_hash) for s in new}
    kept = [s for s in sigs if (s.name, s.key_hash) not in replaced]
    return text + "\n" + "".join(s.line() for s in [*kept, *new])


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> Note:
    """Parse a signed note and check its signatures against the known `verifiers`.

    Signatures whose (name, key ID) is unknown are returned in `unverified_sigs`. Raises
    MalformedNoteError on bad syntax, InvalidSignatureError if a known key's signature fails, and
    UnverifiedNoteError if no known key signed the note.
    """
    known: dict[tuple[str, int], Verifier] = {}
    for ver in verifiers:
        prev = known.setdefault((ver.name, ver.key_hash), ver)
        if prev.public_key != ver.public_key:
            raise KeyFormatError(f"ambiguous key {ver.name}+{ver.key_hash:08x}")
    text, sigs = _split_note(note)
    message = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    for sig in sigs:
        v = known.get((sig.name, sig.key_hash))
        if v is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        # Every line from a known key is checked, even a repeated one; it then counts once.
        if not v.verify(message, base64.b64decode(sig.base64)[4:]):
            raise InvalidSignatureError(sig.name, sig.key_hash)
        if all((s.name, s.key_hash) != (sig.name, sig.key_hash) for s in verified):
            verified.append(sig)
    opened = Note(text, tuple(verified), tuple(unverified))
    if not verified:
        raise UnverifiedNoteError(opened)
    return opened


_SIZE_RE = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A c2sp.org/tlog-checkpoint body: origin, tree size, root hash, optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise CheckpointError("origin must be a non-empty single line")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError("size must be an int")
        if not 0 <= self.size < 1 << 64:
            raise CheckpointError("size must fit in an unsigned 64-bit integer")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(f"root hash must be {HASH_SIZE} bytes")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for ext in self.extensions:
            if not ext or "\n" in ext or _CONTROL.search(ext):
                raise CheckpointError("extension lines must be non-empty single lines")

    def to_body(self) -> str:
        lines = [self.origin, str(self.size), _b64(self.root_hash), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint body (a note's text), strictly."""
        if not body.endswith("\n"):
            raise CheckpointError("checkpoint body must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint needs origin, size and root hash lines")
        origin, size_s, root_s, *exts = lines
        if not _SIZE_RE.fullmatch(size_s):
            raise CheckpointError(f"bad tree size {size_s[:30]!r}")
        root = _b64decode(root_s, "root hash", CheckpointError)
        return cls(origin, int(size_s), root, tuple(exts))


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[Signer]) -> str:
    """The signed note for `checkpoint`."""
    return sign_note(checkpoint.to_body(), signers)


def open_checkpoint(
    note: str | bytes, verifiers: Iterable[Verifier], origin: str | None = None
) -> tuple[Checkpoint, Note]:
    """Open a signed checkpoint; optionally require its origin line to equal `origin`."""
    opened = open_note(note, verifiers)
    cp = Checkpoint.parse(opened.text)
    if origin is not None and cp.origin != origin:
        raise CheckpointError(f"checkpoint origin {cp.origin!r} is not {origin!r}")
    return cp, opened
