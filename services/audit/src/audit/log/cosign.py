"""Witness cosignatures: which lines of a posted note are kept, and how they are merged.

Issue 18 (finding 4): the POST once stored the whole posted note and the checkpoint merged
every line of every stored note, so anyone could add 97 junk lines next to a real witness's
line and the public checkpoint grew past the 100 lines a verifier accepts. Now a posted note
is accepted only when EVERY signature line in it is the log's own or a configured witness's
and verifies; what is stored is the log's text, the log's line and the witness's line, nothing
else; and the merge re-verifies each stored line against the configured witness keys (rows
stored before this rule count for nothing unless they verify).
"""

from __future__ import annotations

from dataclasses import dataclass

from tlog.note import (
    Checkpoint,
    CheckpointError,
    InvalidSignatureError,
    NoteError,
    Signature,
    UnverifiedNoteError,
    Verifier,
    open_note,
)


class CosignatureRefused(ValueError):
    """Why a posted cosignature note is not accepted (the 422's reason)."""


@dataclass(frozen=True)
class Accepted:
    checkpoint: Checkpoint
    # witness name -> the note to store for it (log text, log line, the witness's line)
    notes: dict[str, str]


def _key(sig: Signature) -> str:
    return f"{sig.name}+{sig.key_hash:08x}"


def accept(note: str, log_key: Verifier, witnesses: list[Verifier], origin: str) -> Accepted:
    """Check a posted note; raise `CosignatureRefused` naming the first reason it is not
    acceptable."""
    if not witnesses:
        raise CosignatureRefused("no witness keys are configured (AUDIT_WITNESS_KEYS)")
    try:
        opened = open_note(note, [log_key, *witnesses])
    except InvalidSignatureError as exc:
        raise CosignatureRefused(
            f"the signature of {exc.name}+{exc.key_hash:08x} does not verify"
        ) from None
    except UnverifiedNoteError as exc:
        names = ", ".join(_key(s) for s in exc.note.unverified_sigs[:5])
        raise CosignatureRefused(f"signature lines from unknown keys: {names}") from None
    except NoteError as exc:
        raise CosignatureRefused(f"not a signed note: {exc}") from None
    if opened.unverified_sigs:
        unknown = opened.unverified_sigs
        names = ", ".join(_key(s) for s in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise CosignatureRefused(
            f"{len(unknown)} signature line(s) from unknown keys ({names}{more}): only the "
            "log's key and the configured witness keys (GET /v1/log/witness-keys) may sign"
        )
    log_line = next(
        (
            s
            for s in opened.verified_sigs
            if (s.name, s.key_hash) == (log_key.name, log_key.key_hash)
        ),
        None,
    )
    if log_line is None:
        raise CosignatureRefused("the log's own signature is missing")
    try:
        cp = Checkpoint.parse(opened.text)
    except CheckpointError as exc:
        raise CosignatureRefused(f"not a checkpoint: {exc}") from None
    if cp.origin != origin:
        raise CosignatureRefused(f"checkpoint origin {cp.origin!r} is not {origin!r}")
    notes = {
        s.name: opened.text + "\n" + log_line.line() + s.line()
        for s in opened.verified_sigs
        if s is not log_line
    }
    if not notes:
        raise CosignatureRefused("no configured witness cosigned this checkpoint")
    return Accepted(cp, notes)


def merge(note: str, cosigned: list[str], witnesses: list[Verifier]) -> str:
    """The log's note plus each configured witness's line that verifies on the same text."""
    text, _, sigs = note.rpartition("\n\n")
    lines = [ln for ln in sigs.split("\n") if ln]
    for other in cosigned:
        try:
            opened = open_note(other, witnesses)
        except NoteError:
            continue  # a row from before the rule, or a key no longer configured
        if opened.text != text + "\n":
            continue
        for s in opened.verified_sigs:
            line = s.line().rstrip("\n")
            if line not in lines:
                lines.append(line)
    return text + "\n\n" + "".join(ln + "\n" for ln in lines)
