"""The offline verifier CLI, driven through typer's CliRunner (files in tmp_path)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tlog.hashing import empty_root, leaf_hash
from tlog.note import Checkpoint, Signer, Verifier, generate_key, sign_checkpoint
from tlog.tree import MemoryTree
from tlog.verify_cli import app

pytestmark = pytest.mark.unit

ORIGIN = "bianmin.example/audit"
runner = CliRunner()


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


@dataclass
class Log:
    dir: Path
    signer: Signer
    vkey: str
    leaves: list[bytes]
    tree: MemoryTree

    def checkpoint(self, size: int, name: str | None = None) -> Path:
        cp = Checkpoint(ORIGIN, size, self.tree.root(size))
        path = self.dir / (name or f"cp-{size}.txt")
        path.write_text(sign_checkpoint(cp, [self.signer]), encoding="utf-8")
        return path

    def write_json(self, name: str, obj: object) -> Path:
        path = self.dir / name
        path.write_text(json.dumps(obj), encoding="utf-8")
        return path

    def export(self, name: str, leaves: list[bytes], indexes: list[int] | None = None) -> Path:
        idx = indexes if indexes is not None else list(range(len(leaves)))
        path = self.dir / name
        rows = [json.dumps({"index": i, "leaf": b64(d)}) for i, d in zip(idx, leaves, strict=True)]
        path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
        return path


@pytest.fixture
def log(tmp_path: Path) -> Log:
    skey, vkey = generate_key(ORIGIN)
    leaves = [b'{"event": %d}' % i for i in range(50)]
    return Log(tmp_path, Signer.from_key(skey), vkey, leaves, MemoryTree(map(leaf_hash, leaves)))


def run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def inclusion_json(log: Log, index: int, size: int, **extra: object) -> dict[str, object]:
    obj: dict[str, object] = {
        "leaf_index": index,
        "tree_size": size,
        "leaf_hash": b64(leaf_hash(log.leaves[index])),
        "proof": [b64(p) for p in log.tree.inclusion_proof(index, size)],
    }
    obj.update(extra)
    return obj


# -- checkpoint ------------------------------------------------------------------------------


def test_checkpoint_ok_prints_fields(log: Log) -> None:
    code, out = run("checkpoint", log.checkpoint(50), "--key", log.vkey)
    assert code == 0, out
    assert ORIGIN in out and "50" in out and b64(log.tree.root()) in out


def test_checkpoint_key_from_file(log: Log) -> None:
    key_file = log.dir / "log.vkey"
    key_file.write_text(log.vkey + "\n", encoding="utf-8")
    assert run("checkpoint", log.checkpoint(50), "--key", f"@{key_file}")[0] == 0
    assert run("checkpoint", log.checkpoint(50), "--key", key_file)[0] == 0


def test_checkpoint_failures(log: Log) -> None:
    cp = log.checkpoint(50)
    _, other = generate_key(ORIGIN)
    code, out = run("checkpoint", cp, "--key", other)
    assert code == 1 and "no signature" in out
    code, out = run("checkpoint", cp, "--key", log.vkey, "--origin", "x.example/log")
    assert code == 1 and "origin" in out
    tampered = log.dir / "tampered.txt"
    tampered.write_text(cp.read_text().replace("\n50\n", "\n51\n"), encoding="utf-8")
    code, out = run("checkpoint", tampered, "--key", log.vkey)
    assert code == 1 and "invalid signature" in out
    malformed = log.dir / "malformed.txt"
    malformed.write_text(cp.read_text().rstrip("\n"), encoding="utf-8")
    assert run("checkpoint", malformed, "--key", log.vkey)[0] == 2
    assert run("checkpoint", cp, "--key", "not-a-key")[0] == 2
    assert run("checkpoint", log.dir / "missing.txt", "--key", log.vkey)[0] == 2


# -- inclusion -------------------------------------------------------------------------------


def test_inclusion_ok_and_mutated(log: Log) -> None:
    cp = log.checkpoint(50)
    good = inclusion_json(log, 17, 50)
    code, out = run("inclusion", "-c", cp, "-k", log.vkey, "-p", log.write_json("p.json", good))
    assert code == 0, out
    assert "OK" in out

    nodes = [bytearray(p) for p in log.tree.inclusion_proof(17, 50)]
    nodes[2][7] ^= 0x10
    bad = {**good, "proof": [b64(bytes(p)) for p in nodes]}
    code, out = run("inclusion", "-c", cp, "-k", log.vkey, "-p", log.write_json("b.json", bad))
    assert code == 1, out
    assert "FAIL" in out and "inclusion proof rejected" in out
    assert len([ln for ln in out.splitlines() if ln.strip()]) == 1  # one-line reason


def test_inclusion_with_leaf_bytes(log: Log) -> None:
    cp = log.checkpoint(50)
    obj = inclusion_json(log, 3, 50)
    del obj["leaf_hash"]
    obj["leaf"] = b64(log.leaves[3])
    assert run("inclusion", "-c", cp, "-k", log.vkey, "-p", log.write_json("p.json", obj))[0] == 0
    obj["leaf"] = b64(log.leaves[4])
    assert run("inclusion", "-c", cp, "-k", log.vkey, "-p", log.write_json("q.json", obj))[0] == 1
    both = inclusion_json(log, 3, 50, leaf=b64(log.leaves[4]))
    assert run("inclusion", "-c", cp, "-k", log.vkey, "-p", log.write_json("r.json", both))[0] == 1


def test_inclusion_other_failures(log: Log) -> None:
    cp = log.checkpoint(50)
    older = inclusion_json(log, 3, 40)  # valid proof, but for another tree size
    code, out = run("inclusion", "-c", cp, "-k", log.vkey, "-p", log.write_json("o.json", older))
    assert code == 1 and "tree size" in out
    broken = log.dir / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert run("inclusion", "-c", cp, "-k", log.vkey, "-p", broken)[0] == 2
    missing = inclusion_json(log, 3, 50)
    del missing["leaf_index"]
    assert (
        run("inclusion", "-c", cp, "-k", log.vkey, "-p", log.write_json("m.json", missing))[0] == 2
    )
    bad_b64 = inclusion_json(log, 3, 50, proof=["@@@"])
    assert (
        run("inclusion", "-c", cp, "-k", log.vkey, "-p", log.write_json("x.json", bad_b64))[0] == 2
    )


# -- consistency -----------------------------------------------------------------------------


def test_consistency(log: Log) -> None:
    old, new = log.checkpoint(21), log.checkpoint(50)
    nodes = [b64(p) for p in log.tree.consistency_proof(21, 50)]
    proof = {"old_size": 21, "new_size": 50, "proof": nodes}
    path = log.write_json("c.json", proof)
    code, out = run("consistency", "--old", old, "--new", new, "-k", log.vkey, "-p", path)
    assert code == 0, out
    code, out = run("consistency", "--old", new, "--new", old, "-k", log.vkey, "-p", path)
    assert code == 1
    mutated = {**proof, "proof": nodes[::-1]}
    path2 = log.write_json("c2.json", mutated)
    assert run("consistency", "--old", old, "--new", new, "-k", log.vkey, "-p", path2)[0] == 1


def test_consistency_from_empty_tree(log: Log) -> None:
    empty = log.dir / "cp-0.txt"
    empty.write_text(sign_checkpoint(Checkpoint(ORIGIN, 0, empty_root()), [log.signer]))
    path = log.write_json("e.json", {"proof": []})
    args = ("consistency", "--old", empty, "--new", log.checkpoint(50), "-k", log.vkey, "-p", path)
    assert run(*args)[0] == 0


# -- recompute -------------------------------------------------------------------------------


def test_recompute_ok(log: Log) -> None:
    code, out = run(
        "recompute", log.export("e.jsonl", log.leaves), "-c", log.checkpoint(50), "-k", log.vkey
    )
    assert code == 0, out


def test_recompute_detects_changed_leaf(log: Log) -> None:
    leaves = list(log.leaves)
    leaves[31] = b'{"event": 31, "tampered": true}'
    code, out = run(
        "recompute", log.export("e.jsonl", leaves), "-c", log.checkpoint(50), "-k", log.vkey
    )
    assert code == 1
    assert "root mismatch" in out


def test_recompute_pinpoints_index_problems(log: Log) -> None:
    cp = log.checkpoint(50)
    idx = list(range(50))
    idx[12] = 13  # a gap: 12 is missing
    code, out = run("recompute", log.export("g.jsonl", log.leaves, idx), "-c", cp, "-k", log.vkey)
    assert code == 1 and "index 12" in out
    lines = log.export("h.jsonl", log.leaves).read_text().splitlines()
    row = json.loads(lines[7])
    row["leaf_hash"] = b64(leaf_hash(b"something else"))
    lines[7] = json.dumps(row)
    path = log.dir / "h.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, out = run("recompute", path, "-c", cp, "-k", log.vkey)
    assert code == 1 and "index 7" in out


def test_recompute_length_checks(log: Log) -> None:
    cp = log.checkpoint(40)
    code, out = run("recompute", log.export("s.jsonl", log.leaves[:39]), "-c", cp, "-k", log.vkey)
    assert code == 1 and "39" in out
    longer = log.export("l.jsonl", log.leaves)
    assert run("recompute", longer, "-c", cp, "-k", log.vkey)[0] == 1
    code, out = run("recompute", longer, "-c", cp, "-k", log.vkey, "--allow-extra")
    assert code == 0 and "10 later leaves" in out


def test_recompute_bad_input(log: Log) -> None:
    path = log.dir / "bad.jsonl"
    path.write_text('{"index": 0, "leaf": "AA=="}\nnot json\n', encoding="utf-8")
    code, out = run("recompute", path, "-c", log.checkpoint(50), "-k", log.vkey)
    assert code == 2 and ":2:" in out


def test_verifier_key_string_is_public_only(log: Log) -> None:
    assert not log.vkey.startswith("PRIVATE")
    assert Verifier.from_key(log.vkey) == log.signer.verifier()


def test_python_dash_m_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tlog", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "recompute" in result.stdout


def test_untrusted_text_is_printed_literally(log: Log) -> None:
    origin = "[bold]evil.example/[/]log"
    path = log.dir / "markup.txt"
    cp = Checkpoint(origin, 50, log.tree.root())
    path.write_text(sign_checkpoint(cp, [log.signer]), encoding="utf-8")
    code, out = run("checkpoint", path, "--key", log.vkey)
    assert code == 0 and origin in out
    code, out = run("checkpoint", path, "--key", log.vkey, "--origin", "[red]x")
    assert code == 1 and origin in out and "[red]x" in out
