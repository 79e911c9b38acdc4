"""Offline verifier for an inspector who holds only the log's public (verifier) key.

Every command checks the checkpoint signature first, then the proof or export against the signed
root; nothing is fetched over the network and nothing the audited party sends is trusted unsigned.

Exit codes: 0 verified, 1 verification failed (one-line reason on stderr), 2 unusable input
(unreadable file, bad JSON, malformed note or key; also typer's own usage errors).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from .hashing import HASH_SIZE, empty_root, leaf_hash
from .note import (
    Checkpoint,
    CheckpointError,
    InvalidSignatureError,
    KeyFormatError,
    MalformedNoteError,
    Note,
    UnverifiedNoteError,
    Verifier,
    open_checkpoint,
)
from .proofs import ProofError, verify_consistency, verify_inclusion
from .tree import append_to_frontier, root_from_frontier

__all__ = ["app", "main"]

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2

app = typer.Typer(
    name="tlog",
    help="Verify transparency-log checkpoints, proofs and exports with only a public key.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class VerificationFailed(Exception):
    """The inputs are well-formed but do not verify (exit 1)."""


class BadInput(Exception):
    """The inputs cannot be checked at all (exit 2)."""


P = ParamSpec("P")
R = TypeVar("R")


# Markup is off: origins, key names and error reasons come from the files under inspection.
def _out() -> Console:
    return Console(highlight=False, markup=False, soft_wrap=True)


def _err() -> Console:
    return Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


def _exits(fn: Callable[P, R]) -> Callable[P, R]:
    """Map the two failure kinds to exit codes with a single line on stderr."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except VerificationFailed as e:
            _err().print(Text.assemble(("FAIL", "bold red"), f": {e}"))
            raise typer.Exit(EXIT_FAIL) from None
        except BadInput as e:
            _err().print(Text.assemble(("ERROR", "bold yellow"), f": {e}"))
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read {what} {str(path)!r}: {e}") from None


def _verifiers(keys: list[str]) -> list[Verifier]:
    """Keys are verifier key strings, or files holding one (``@path`` or an existing path)."""
    out = []
    for k in keys:
        text = k
        if k.startswith("@"):
            text = _read(Path(k[1:]), "key file")
        elif "+" not in k and Path(k).is_file():
            text = _read(Path(k), "key file")
        try:
            out.append(Verifier.from_key(text.strip()))
        except KeyFormatError as e:
            raise BadInput(f"bad verifier key {k[:60]!r}: {e}") from None
    return out


def _checkpoint(path: Path, keys: list[Verifier], origin: str | None) -> tuple[Checkpoint, Note]:
    raw = _read(path, "checkpoint")
    try:
        cp, note = open_checkpoint(raw, keys)
    except MalformedNoteError as e:
        raise BadInput(f"{path}: malformed signed note: {e}") from None
    except UnverifiedNoteError:
        raise VerificationFailed(f"{path}: no signature by the given key(s)") from None
    except InvalidSignatureError as e:
        raise VerificationFailed(f"{path}: {e}") from None
    except CheckpointError as e:
        raise BadInput(f"{path}: malformed checkpoint body: {e}") from None
    if origin is not None and cp.origin != origin:
        raise VerificationFailed(f"{path}: origin is {cp.origin!r}, expected {origin!r}")
    return cp, note


def _json_object(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(_read(path, what))
    except json.JSONDecodeError as e:
        raise BadInput(f"{path}: not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a JSON object")
    return data


def _int_field(obj: dict[str, Any], name: str, where: str) -> int:
    v = obj.get(name)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise BadInput(f"{where}: {name!r} must be a non-negative integer")
    return v


def _b64_field(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise BadInput(f"{what} must be a base64 string")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise BadInput(f"{what} is not valid base64") from None
    return raw


def _proof_list(obj: dict[str, Any], where: str) -> list[bytes]:
    items = obj.get("proof")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise BadInput(f"{where}: 'proof' must be a list of base64 strings")
    return [_b64_field(p, f"{where}: proof[{i}]") for i, p in enumerate(items)]


def _hex(b: bytes) -> str:
    return b.hex()


KeyOpt = Annotated[
    list[str],
    typer.Option(
        "--key",
        "-k",
        help="Verifier key <name>+<hex id>+<base64>, or @FILE holding it. Repeatable.",
    ),
]
OriginOpt = Annotated[
    str | None, typer.Option("--origin", help="Require this checkpoint origin line.")
]


@app.command()
@_exits
def checkpoint(
    note_file: Annotated[Path, typer.Argument(help="Signed checkpoint note.")],
    key: KeyOpt,
    origin: OriginOpt = None,
) -> None:
    """Verify a signed checkpoint and print its origin, size and root."""
    cp, note = _checkpoint(note_file, _verifiers(key), origin)
    out = _out()
    out.print(f"OK: checkpoint signed by {', '.join(s.name for s in note.verified_sigs)}")
    out.print(f"origin: {cp.origin}")
    out.print(f"size:   {cp.size}")
    out.print(f"root:   {base64.b64encode(cp.root_hash).decode()} (hex {_hex(cp.root_hash)})")
    for ext in cp.extensions:
        out.print(f"extension: {ext}")
    for sig in note.unverified_sigs:
        out.print(f"unverified signature (unknown key): {sig.name}+{sig.key_hash:08x}")


@app.command()
@_exits
def inclusion(
    checkpoint: Annotated[Path, typer.Option("--checkpoint", "-c", help="Signed checkpoint.")],
    key: KeyOpt,
    proof: Annotated[Path, typer.Option("--proof", "-p", help="Inclusion proof JSON.")],
    origin: OriginOpt = None,
) -> None:
    """Verify that a leaf is in the tree committed to by a checkpoint.

    Proof JSON: {"leaf_index", "tree_size", "leaf_hash" or "leaf" (base64), "proof": [base64]}.
    """
    cp, _ = _checkpoint(checkpoint, _verifiers(key), origin)
    data = _json_object(proof, "proof")
    where = str(proof)
    index = _int_field(data, "leaf_index", where)
    size = _int_field(data, "tree_size", where)
    if "leaf_hash" not in data and "leaf" not in data:
        raise BadInput(f"{where}: needs 'leaf_hash' or 'leaf'")
    lh = None
    if "leaf_hash" in data:
        lh = _b64_field(data["leaf_hash"], f"{where}: leaf_hash")
        if len(lh) != HASH_SIZE:
            raise BadInput(f"{where}: leaf_hash must be {HASH_SIZE} bytes")
    if "leaf" in data:
        from_leaf = leaf_hash(_b64_field(data["leaf"], f"{where}: leaf"))
        if lh is not None and lh != from_leaf:
            raise VerificationFailed("leaf_hash is not the hash of leaf")
        lh = from_leaf
    assert lh is not None
    path = _proof_list(data, where)
    if size != cp.size:
        raise VerificationFailed(f"proof is for tree size {size}, checkpoint is for {cp.size}")
    try:
        verify_inclusion(lh, index, size, path, cp.root_hash)
    except ProofError as e:
        raise VerificationFailed(f"inclusion proof rejected: {e.reason}") from None
    _out().print(f"OK: leaf {index} (hash {_hex(lh)}) is in {cp.origin} at size {cp.size}")


@app.command()
@_exits
def consistency(
    old: Annotated[Path, typer.Option("--old", help="Older signed checkpoint.")],
    new: Annotated[Path, typer.Option("--new", help="Newer signed checkpoint.")],
    key: KeyOpt,
    proof: Annotated[Path, typer.Option("--proof", "-p", help="Consistency proof JSON.")],
    origin: OriginOpt = None,
) -> None:
    """Verify that the newer checkpoint's tree extends the older one (append-only).

    Proof JSON: {"proof": [base64], "old_size"?, "new_size"?}; sizes, if given, must match.
    """
    verifiers = _verifiers(key)
    cp1, _ = _checkpoint(old, verifiers, origin)
    cp2, _ = _checkpoint(new, verifiers, origin)
    data = _json_object(proof, "proof")
    where = str(proof)
    path = _proof_list(data, where)
    for field_, cp, label in (("old_size", cp1, "old"), ("new_size", cp2, "new")):
        if field_ in data and _int_field(data, field_, where) != cp.size:
            raise VerificationFailed(
                f"proof {field_} is {data[field_]}, {label} checkpoint is for size {cp.size}"
            )
    if cp1.origin != cp2.origin:
        raise VerificationFailed(f"origins differ: {cp1.origin!r} vs {cp2.origin!r}")
    if cp1.size == 0 and cp2.size > 0:
        # Every tree extends the empty tree; RFC 9162 has no proof for it, so check it directly.
        if cp1.root_hash != empty_root():
            raise VerificationFailed("old checkpoint has size 0 but not the empty-tree root")
        if path:
            raise VerificationFailed("consistency from size 0 must have an empty proof")
    else:
        try:
            verify_consistency(cp1.size, cp2.size, path, cp1.root_hash, cp2.root_hash)
        except ProofError as e:
            raise VerificationFailed(f"consistency proof rejected: {e.reason}") from None
    _out().print(f"OK: {cp2.origin} at size {cp2.size} extends size {cp1.size}")


def _export_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        fh = path.open(encoding="utf-8")
    except OSError as e:
        raise BadInput(f"cannot read export {str(path)!r}: {e}") from None
    with fh:
        try:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise BadInput(f"{path}:{lineno}: not valid JSON: {e}") from None
                if not isinstance(obj, dict):
                    raise BadInput(f"{path}:{lineno}: expected a JSON object")
                yield lineno, obj
        except UnicodeDecodeError as e:
            raise BadInput(f"{path}: not UTF-8: {e}") from None


@app.command()
@_exits
def recompute(
    export_file: Annotated[Path, typer.Argument(help='JSON Lines: {"index": n, "leaf": base64}.')],
    checkpoint: Annotated[Path, typer.Option("--checkpoint", "-c", help="Signed checkpoint.")],
    key: KeyOpt,
    origin: OriginOpt = None,
    allow_extra: Annotated[
        bool,
        typer.Option(help="Accept leaves beyond the checkpoint size (they are not verified)."),
    ] = False,
) -> None:
    """Rebuild the tree from an export of every leaf and compare with the checkpoint root.

    Optional per-line "leaf_hash" (base64) is checked against the leaf, to pinpoint a bad line.
    Memory use is O(log n): only the tree's frontier is kept.
    """
    cp, _ = _checkpoint(checkpoint, _verifiers(key), origin)
    where = str(export_file)
    size = 0  # leaves read so far
    frontier: list[bytes] = []  # frontier of the leaves already folded in
    folded = 0
    batch: list[bytes] = []

    def flush() -> None:
        nonlocal frontier, folded
        if batch:
            res = append_to_frontier(folded, frontier, batch)
            frontier, folded = [h for _, h in res.frontier], res.size
            batch.clear()

    for lineno, obj in _export_lines(export_file):
        at = f"{where}:{lineno}"
        if "index" not in obj or "leaf" not in obj:
            raise BadInput(f"{at}: needs 'index' and 'leaf'")
        index = _int_field(obj, "index", at)
        if index != size:
            raise VerificationFailed(
                f"first problem at index {size}: export line {lineno} has index {index} "
                f"(indexes must be contiguous from 0)"
            )
        leaf = _b64_field(obj["leaf"], f"{at}: leaf")
        lh = leaf_hash(leaf)
        if "leaf_hash" in obj and _b64_field(obj["leaf_hash"], f"{at}: leaf_hash") != lh:
            raise VerificationFailed(
                f"first problem at index {index}: leaf_hash does not match leaf"
            )
        if size < cp.size:
            batch.append(lh)
            size += 1
            if len(batch) >= 4096:
                flush()
        elif not allow_extra:
            raise VerificationFailed(
                f"export has leaves beyond the checkpoint size {cp.size} (see --allow-extra)"
            )
        else:
            size += 1
    flush()
    if folded < cp.size:
        raise VerificationFailed(f"export has {size} leaves, the checkpoint covers {cp.size}")
    root = root_from_frontier(frontier)
    if root != cp.root_hash:
        raise VerificationFailed(
            f"root mismatch: leaves 0..{cp.size - 1} hash to {_hex(root)}, "
            f"checkpoint says {_hex(cp.root_hash)}"
        )
    extra = size - cp.size
    tail = f" ({extra} later leaves not covered by the checkpoint)" if extra else ""
    _out().print(f"OK: {cp.size} leaves reproduce the root of {cp.origin}{tail}")


def main() -> None:
    """Console entry point (exits the process)."""
    app(prog_name="tlog")
