"""`bianmin` on bad input: the option and the reason, exit status 2, nothing written; and an
interrupted replay (Ctrl-C, kill -9) leaves the previous store untouched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analytics.spool import PAUSE_ENV
from bianmin_tools.cli import app

from .support import small_history, write_ndjson

pytestmark = pytest.mark.unit

runner = CliRunner()


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ndjson(tmp_path_factory.mktemp("cli") / "history.ndjson", small_history())


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()} | {
        p.name + "/": b"" for p in folder.iterdir() if p.is_dir()
    }


@pytest.mark.parametrize(
    ("args", "field", "reason"),
    [
        (["--since", "2026-10-31", "--until", "2026-10-01"], "--until", "not after the start"),
        (["--since", "yesterday"], "--since", "not an ISO date"),
        (["--type", "intake.application_acepted"], "--type", "unknown event type"),
        (["--type", "NotAType"], "--type", "not an event type"),
        (["--org", "Ruian Mayu"], "--org", "not an org unit id"),
        (["--org", "ruian.atlantis"], "--org", "unknown org unit 'ruian.atlantis'"),
        (["--tier", "province"], "--tier", "unknown tier"),
        (["--offsets", "intake.events:0"], "--offsets", "topic:partition=offset"),
    ],
)
def test_bad_replay_input_exits_2_and_writes_nothing(
    history_file: Path, tmp_path: Path, args: list[str], field: str, reason: str
) -> None:
    db = tmp_path / "analytics.duckdb"
    source = ["--from-file", str(history_file)] if "--offsets" not in args else []
    code, out = _run("replay", "analytics", *source, "--db", str(db), "-q", *args)
    assert code == 2, out
    assert field in out and reason in " ".join(out.split()), out
    assert "nothing was written" in out
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_store_path_is_refused(history_file: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "notes.duckdb"
    garbage.write_text("this is not a DuckDB file")
    code, out = _run("replay", "analytics", "--from-file", str(history_file), "--db", str(garbage))
    assert code == 2 and "not a readable DuckDB file" in " ".join(out.split())
    assert garbage.read_text() == "this is not a DuckDB file"
    code, out = _run(
        "replay",
        "analytics",
        "--from-file",
        str(history_file),
        "--db",
        str(tmp_path / "no" / "such" / "folder" / "a.duckdb"),
    )
    assert code == 2 and "does not exist" in out
    code, out = _run("replay", "analytics", "--from-file", str(history_file), "--db", str(tmp_path))
    assert code == 2 and "is a directory" in out
    code, out = _run(
        "report",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
        "--org",
        "ruian",
        "--db",
        str(garbage),
        "--out",
        str(tmp_path / "rep"),
    )
    assert code == 2 and "--db" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.duckdb"]


def test_choosing_two_sources_is_refused(history_file: Path, tmp_path: Path) -> None:
    code, out = _run(
        "replay",
        "analytics",
        "--from-file",
        str(history_file),
        "--topic",
        "x",
        "--db",
        str(tmp_path / "a.duckdb"),
    )
    assert code == 2 and "choose one source" in out


def test_replay_then_report_from_the_command_line(history_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "analytics.duckdb"
    code, out = _run("replay", "analytics", "--from-file", str(history_file), "--db", str(db), "-q")
    assert code == 0, out
    assert f"{len(small_history().events):,} events" in out
    code, out = _run(
        "report",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-16",
        "--org",
        "ruian.mayu",
        "--db",
        str(db),
        "--out",
        str(tmp_path / "report"),
    )
    assert code == 0, out
    assert (tmp_path / "report" / "report.html").exists()
    for args, field in (
        (["--from", "2026-10-16", "--to", "2026-10-01", "--org", "ruian.mayu"], "--to"),
        (["--from", "2026-10-01", "--to", "2026-10-16", "--org", "ruian.atlantis"], "--org"),
        (["--from", "10/01", "--to", "2026-10-16", "--org", "ruian.mayu"], "--from"),
    ):
        code, out = _run("report", *args, "--db", str(db), "--out", str(tmp_path / "bad"))
        assert code == 2 and field in out, out
    assert not (tmp_path / "bad").exists()


def _paused_replay(history_file: Path, db: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bianmin_tools",
            "replay",
            "analytics",
            "--from-file",
            str(history_file),
            "--db",
            str(db),
            "-q",
        ],
        env={**os.environ, PAUSE_ENV: "1000"},
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # blocks until the replay reached its pause point
    assert b"paused after" in line, line
    return proc


@pytest.mark.parametrize("how", ["kill -9", "Ctrl-C"])
def test_an_interrupted_replay_leaves_the_previous_store_untouched(
    history_file: Path, tmp_path: Path, how: str
) -> None:
    db = tmp_path / "analytics.duckdb"
    code, out = _run(
        "replay",
        "analytics",
        "--from-file",
        str(history_file),
        "--db",
        str(db),
        "-q",
        "--org",
        "ruian.mayu",
    )
    assert code == 0, out
    before = db.read_bytes()
    proc = _paused_replay(history_file, db)
    work = list(tmp_path.glob(".analytics.duckdb.replay-*"))
    assert len(work) == 1  # it was building, beside the target
    proc.send_signal(signal.SIGKILL if how == "kill -9" else signal.SIGINT)
    proc.wait(timeout=30)
    assert db.read_bytes() == before
    if how == "Ctrl-C":
        assert proc.returncode == 130
        assert not work[0].exists()  # cleaned up on the way out
    # restartable: the next replay finishes, switches, and sweeps what a kill left behind
    code, out = _run("replay", "analytics", "--from-file", str(history_file), "--db", str(db), "-q")
    assert code == 0, out
    assert db.read_bytes() != before
    assert [p.name for p in tmp_path.iterdir()] == ["analytics.duckdb"]
