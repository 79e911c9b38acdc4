"""Every transparency-dev/merkle proof vector under shared/testdata/merkle, read as-is.

The folder is part of the workspace, not optional: if it is missing these tests fail, they do
not skip.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tlog.hashing import leaf_hash
from tlog.proofs import ProofError, verify_consistency, verify_inclusion
from tlog.tree import MemoryTree

pytestmark = pytest.mark.unit

VECTOR_DIR = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "testdata" / "merkle"
).resolve()

# The leaves the vectors were generated from (transparency-dev/merkle proof/verify_test.go).
GO_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]


def _files(kind: str) -> list[Path | None]:
    found: list[Path | None] = []
    if VECTOR_DIR.is_dir():
        found.extend(sorted((VECTOR_DIR / kind).rglob("*.json")))
    return found or [None]  # one failing case instead of an empty (skipped) parameter set


def _id(path: Path | None) -> str:
    return "MISSING" if path is None else path.relative_to(VECTOR_DIR).with_suffix("").as_posix()


def _load(path: Path | None) -> dict[str, Any]:
    if path is None:
        pytest.fail(f"Merkle test vectors not found under {VECTOR_DIR}")
    return json.loads(path.read_text(encoding="utf-8"))


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(value: list[str] | None) -> list[bytes]:
    return [_b64(p) for p in value or []]


INCLUSION = _files("inclusion")
CONSISTENCY = _files("consistency")


def test_vector_folder_is_present_and_complete() -> None:
    assert VECTOR_DIR.is_dir(), f"missing {VECTOR_DIR}"
    assert None not in INCLUSION and None not in CONSISTENCY
    assert len(INCLUSION) >= 90 and len(CONSISTENCY) >= 90
    wants = {_load(p)["wantErr"] for p in INCLUSION + CONSISTENCY}
    assert wants == {True, False}


@pytest.mark.parametrize("path", INCLUSION, ids=_id)
def test_inclusion_vector(path: Path | None) -> None:
    v = _load(path)
    args = (_b64(v["leafHash"]), v["leafIdx"], v["treeSize"], _proof(v["proof"]), _b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", CONSISTENCY, ids=_id)
def test_consistency_vector(path: Path | None) -> None:
    v = _load(path)
    args = (v["size1"], v["size2"], _proof(v["proof"]), _b64(v["root1"]), _b64(v["root2"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def _happy(files: list[Path | None]) -> list[Path | None]:
    return [p for p in files if p is None or p.name == "happy-path.json"]


@pytest.mark.parametrize("path", _happy(INCLUSION), ids=_id)
def test_generator_reproduces_inclusion_vector(path: Path | None) -> None:
    v = _load(path)
    tree = MemoryTree(leaf_hash(d) for d in GO_LEAVES[: v["treeSize"]])
    assert tree.root() == _b64(v["root"])
    assert tree.nodes[(0, v["leafIdx"])] == _b64(v["leafHash"])
    assert tree.inclusion_proof(v["leafIdx"]) == _proof(v["proof"])


@pytest.mark.parametrize("path", _happy(CONSISTENCY), ids=_id)
def test_generator_reproduces_consistency_vector(path: Path | None) -> None:
    v = _load(path)
    tree = MemoryTree(leaf_hash(d) for d in GO_LEAVES[: v["size2"]])
    assert tree.root(v["size1"]) == _b64(v["root1"])
    assert tree.root() == _b64(v["root2"])
    assert tree.consistency_proof(v["size1"]) == _proof(v["proof"])
