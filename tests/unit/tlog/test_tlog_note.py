"""Signed notes, keys and checkpoints (c2sp.org/signed-note, c2sp.org/tlog-checkpoint)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tlog.hashing import empty_root, leaf_hash
from tlog.note import (
    Checkpoint,
    CheckpointError,
    InvalidSignatureError,
    KeyFormatError,
    MalformedNoteError,
    Signer,
    UnverifiedNoteError,
    Verifier,
    add_signatures,
    generate_key,
    key_id,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)

pytestmark = pytest.mark.unit

# Known answers from golang.org/x/mod/sumdb/note (note_test.go): Ed25519 is deterministic, so
# the same key and text must give the same signature byte for byte.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngo"
    "tpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox3"
    "3WWd1RvMc+QQ=\n"
)


@pytest.fixture
def peter() -> tuple[Signer, Verifier]:
    return Signer.from_key(PETER_SKEY), Verifier.from_key(PETER_VKEY)


def test_key_id_is_truncated_sha256() -> None:
    pub = base64.b64decode(PETER_VKEY.split("+", 2)[2])[1:]
    digest = hashlib.sha256(b"PeterNeumann" + b"\x0a" + b"\x01" + pub).digest()
    assert digest[:4].hex() == "c74f20a3"
    assert key_id("PeterNeumann", pub) == 0xC74F20A3


def test_known_answer_sign(peter: tuple[Signer, Verifier]) -> None:
    signer, verifier = peter
    assert signer.key_hash == verifier.key_hash == 0xC74F20A3
    assert signer.verifier() == verifier
    assert signer.to_key() == PETER_SKEY
    assert verifier.to_key() == PETER_VKEY
    assert sign_note(TEXT, [signer]) == TEXT + "\n" + PETER_SIG


def test_known_answer_open(peter: tuple[Signer, Verifier]) -> None:
    _, verifier = peter
    enoch = Verifier.from_key(ENOCH_VKEY)
    note = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [verifier])
    assert note.text == TEXT
    assert [(s.name, s.key_hash) for s in note.verified_sigs] == [("PeterNeumann", 0xC74F20A3)]
    assert [(s.name, s.key_hash) for s in note.unverified_sigs] == [("EnochRoot", 0xAF0CFE78)]
    both = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [verifier, enoch])
    assert [s.name for s in both.verified_sigs] == ["PeterNeumann", "EnochRoot"]
    assert both.unverified_sigs == ()
    with pytest.raises(UnverifiedNoteError) as info:
        open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])
    assert len(info.value.note.unverified_sigs) == 2


def test_key_manglings_rejected() -> None:
    for key, parse in ((PETER_VKEY, Verifier.from_key), (PETER_SKEY, Signer.from_key)):
        for i in range(len(key)):
            for j in range(i + 1, len(key) + 1):
                if (i, j) != (0, len(key)):
                    with pytest.raises(KeyFormatError):
                        parse(key[i:j])
            with pytest.raises(KeyFormatError):
                parse(key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :])
    # Wrong key length / unknown algorithm, each with a key ID recomputed to match.
    with pytest.raises(KeyFormatError):
        Verifier.from_key(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
    with pytest.raises(KeyFormatError):
        Verifier.from_key("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    with pytest.raises(KeyFormatError):
        Signer.from_seed("has space", bytes(32))


def test_round_trip_generated_keys() -> None:
    skey, vkey = generate_key("bianmin.example/audit")
    assert skey.startswith("PRIVATE+KEY+bianmin.example/audit+")
    signer, verifier = Signer.from_key(skey), Verifier.from_key(vkey)
    assert signer.verifier() == verifier
    # the key data is everything after PRIVATE+KEY+<name>+<hash>+ (base64: it may hold "+"
    # itself, so a split at the last "+" can leave one character, found in any repr)
    key_data = skey.split("+", 4)[4]
    assert len(key_data) > 40
    assert "PRIVATE" not in repr(signer) and key_data not in repr(signer)
    text = "hello\n\nwith a blank line inside\n"
    note = sign_note(text, [signer])
    opened = open_note(note, [verifier])
    assert opened.text == text and len(opened.verified_sigs) == 1
    assert open_note(note.encode(), [verifier]).text == text


def test_tampered_body_wrong_key_rejected(peter: tuple[Signer, Verifier]) -> None:
    signer, verifier = peter
    note = sign_note(TEXT, [signer])
    with pytest.raises(InvalidSignatureError):
        open_note(note.replace("cryptography", "cryptographY"), [verifier])
    # A key with the same name but another public key has another key ID: "unknown", not valid.
    _, other = generate_key("PeterNeumann")
    with pytest.raises(UnverifiedNoteError):
        open_note(note, [Verifier.from_key(other)])
    # A known key's bad signature rejects the note even if another known key signed it fine.
    enoch = Verifier.from_key(ENOCH_VKEY)
    bad_peter = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(InvalidSignatureError):
        open_note(TEXT + "\n" + ENOCH_SIG + bad_peter, [verifier, enoch])
    with pytest.raises(InvalidSignatureError):
        open_note(TEXT + "\n" + PETER_SIG + bad_peter, [verifier])


def test_duplicate_signatures_count_once(peter: tuple[Signer, Verifier]) -> None:
    _, verifier = peter
    note = open_note(TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG, [verifier])
    assert len(note.verified_sigs) == 1 and len(note.unverified_sigs) == 1


@pytest.mark.parametrize(
    "note",
    [
        TEXT,  # no signatures
        TEXT + "\n",  # empty signature block
        TEXT + "\n" + PETER_SIG[:-1],  # missing trailing newline
        "\x01" + TEXT + "\n" + PETER_SIG,  # control character
        TEXT.replace("\n", "\r\n") + "\n" + PETER_SIG,
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"),
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann"),
        TEXT + "\n" + PETER_SIG.replace("— ", "- "),  # hyphen instead of em dash
        TEXT + "\n" + PETER_SIG.replace("— ", "—"),
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG + "\n",
        TEXT + "\n" + "— PeterNeumann\n",
        TEXT + "\n" + "— PeterNeumann \n",
        TEXT + "\n" + "— PeterNeumann x08gow==\n",  # key ID only, no signature bytes
        TEXT + "\n" + "— PeterNeumann x08go/Z!kuBS9UG=\n",  # not base64
        TEXT + "\n" + PETER_SIG.replace("AM=", "AN="),  # non-canonical base64
        TEXT + "\n" + PETER_SIG.replace("AM=", "AM"),  # missing padding
        TEXT + "\n" + PETER_SIG * 101,  # too many signatures
    ],
)
def test_malformed_notes_rejected(note: str, peter: tuple[Signer, Verifier]) -> None:
    with pytest.raises(MalformedNoteError):
        open_note(note, [peter[1]])


def test_invalid_utf8_rejected(peter: tuple[Signer, Verifier]) -> None:
    with pytest.raises(MalformedNoteError):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), [peter[1]])


@pytest.mark.parametrize("text", ["", "no newline", "a\x00b\n", "tab\there\n", "\ud800\n"])
def test_sign_rejects_bad_text(text: str, peter: tuple[Signer, Verifier]) -> None:
    with pytest.raises(MalformedNoteError):
        sign_note(text, [peter[0]])


def test_cosignature_round_trip(peter: tuple[Signer, Verifier]) -> None:
    log_signer, log_verifier = peter
    wskey, wvkey = generate_key("witness.example/w1")
    witness, witness_v = Signer.from_key(wskey), Verifier.from_key(wvkey)
    signed = sign_note(TEXT, [log_signer])
    assert open_note(signed, [log_verifier]).text == TEXT  # the witness checks the log first
    cosigned = add_signatures(signed, [witness])
    assert cosigned.startswith(signed)  # the log's line stays first, the cosignature is appended
    only_log = open_note(cosigned, [log_verifier])
    assert [s.name for s in only_log.verified_sigs] == ["PeterNeumann"]
    assert [s.name for s in only_log.unverified_sigs] == ["witness.example/w1"]
    both = open_note(cosigned, [log_verifier, witness_v])
    assert [s.name for s in both.verified_sigs] == ["PeterNeumann", "witness.example/w1"]
    assert open_note(cosigned, [witness_v]).verified_sigs[0].name == "witness.example/w1"
    # Cosigning again replaces the witness's own line instead of piling up duplicates.
    assert add_signatures(cosigned, [witness]).count("— witness.example/w1 ") == 1
    with pytest.raises(MalformedNoteError):
        add_signatures(TEXT, [witness])


def test_checkpoint_round_trip(peter: tuple[Signer, Verifier]) -> None:
    root = leaf_hash(b"x")
    cp = Checkpoint("bianmin.example/audit", 20852163, root)
    body = cp.to_body()
    assert body == f"bianmin.example/audit\n20852163\n{base64.b64encode(root).decode()}\n"
    assert Checkpoint.parse(body) == cp
    with_ext = Checkpoint("o", 0, empty_root(), ("ext one", "ext two"))
    assert Checkpoint.parse(with_ext.to_body()) == with_ext
    signer, verifier = peter
    note = sign_checkpoint(cp, [signer])
    got, opened = open_checkpoint(note, [verifier], origin="bianmin.example/audit")
    assert got == cp and opened.text == body
    with pytest.raises(CheckpointError):
        open_checkpoint(note, [verifier], origin="other.example/log")


ROOT_B64 = base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize(
    "body",
    [
        f"o\n1\n{ROOT_B64}",  # no final newline
        "o\n1\n",  # no root line
        f"\n1\n{ROOT_B64}\n",  # empty origin
        f"o\n01\n{ROOT_B64}\n",  # leading zero
        f"o\n00\n{ROOT_B64}\n",
        f"o\n+1\n{ROOT_B64}\n",
        f"o\n-1\n{ROOT_B64}\n",
        f"o\n 1\n{ROOT_B64}\n",
        f"o\n1.0\n{ROOT_B64}\n",
        f"o\n١\n{ROOT_B64}\n",  # a Unicode digit
        f"o\n\n{ROOT_B64}\n",
        f"o\n18446744073709551616\n{ROOT_B64}\n",  # 2**64
        f"o\n1\n{base64.b64encode(bytes(31)).decode()}\n",
        f"o\n1\n{base64.b64encode(bytes(33)).decode()}\n",
        f"o\n1\n{ROOT_B64.rstrip('=')}\n",
        f"o\n1\n{ROOT_B64[:-2]}5=\n",  # non-canonical trailing bits
        f"o\n1\n{ROOT_B64}\n\n",  # empty extension line
        f"o\n1\n{ROOT_B64}\next\n\n",
        f"o\x01\n1\n{ROOT_B64}\n",
    ],
)
def test_checkpoint_parse_strict(body: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(body)


def test_checkpoint_parse_accepts_edge_values() -> None:
    assert Checkpoint.parse(f"o\n0\n{ROOT_B64}\n").size == 0
    assert Checkpoint.parse(f"o\n18446744073709551615\n{ROOT_B64}\n").size == 2**64 - 1
    assert Checkpoint.parse(f"a b+c\n7\n{ROOT_B64}\n").origin == "a b+c"  # only SHOULD rules
