"""The redaction fast path (`_scan`: look first, copy only when a personal value is there)
gives exactly what the full walk gives, refusals included."""

from __future__ import annotations

import random
from typing import Any

import pytest

from audit.log.leaf import Redactor, _scan

pytestmark = pytest.mark.unit

PERSONAL = frozenset({"name", "id_number", "phone"})
KEYS = ["name", "id_number", "phone", "case_id", "items", "note", "n"]


def _value(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.randrange(-5, 5)
    if kind == 2:
        return rng.random() < 0.5
    if kind == 3:
        return rng.choice(["张三", "x", ""])
    if kind == 4:
        return 1.5 if rng.random() < 0.15 else "y"  # floats, sometimes
    if kind == 5:
        return "z"
    if kind in (6, 7):
        return {k: _value(rng, depth + 1) for k in rng.sample(KEYS, rng.randrange(4))}
    return [_value(rng, depth + 1) for _ in range(rng.randrange(3))]


def _outcome(redactor: Redactor, obj: Any) -> tuple[str, Any]:
    try:
        redacted, pd = redactor.redact(obj, ("payload",))
    except ValueError as exc:
        return ("refused", str(exc))
    return ("ok", (redacted, None if pd is None else (pd.salt, pd.fields, pd.keyed)))


class FullWalk(Redactor):
    """The reference: the same redactor with the fast path disabled."""

    def redact(self, obj: Any, base: Any = (), strict: bool = True) -> Any:
        import audit.log.leaf as leaf

        saved = leaf._scan
        leaf._scan = lambda node, personal: True  # always take the full walk
        try:
            return super().redact(obj, base, strict)
        finally:
            leaf._scan = saved


def test_fast_path_equals_the_full_walk_on_random_documents() -> None:
    rng = random.Random(7)
    fast = Redactor(PERSONAL, ["id_number"], b"k", salt_source=lambda n: b"S" * n)
    full = FullWalk(PERSONAL, ["id_number"], b"k", salt_source=lambda n: b"S" * n)
    kinds = {"ok-none": 0, "ok-personal": 0, "refused": 0}
    for _ in range(5000):
        doc = {k: _value(rng, 0) for k in rng.sample(KEYS, rng.randrange(1, 6))}
        got, want = _outcome(fast, doc), _outcome(full, doc)
        assert got == want, doc
        if got[0] == "refused":
            kinds["refused"] += 1
        else:
            kinds["ok-personal" if got[1][1] is not None else "ok-none"] += 1
    assert min(kinds.values()) > 100, kinds  # every branch was exercised


def test_scan_answers() -> None:
    assert _scan({"a": {"b": [1, "x", None]}}, PERSONAL) is False
    assert _scan({"a": [{"phone": "1"}]}, PERSONAL) is True
    assert _scan({"name": None, "a": 1}, PERSONAL) is False  # a null is not personal data
    assert _scan({"name": {"v": 1.5}}, PERSONAL) is True  # hashed there, not refused
    with pytest.raises(ValueError, match="floats"):
        _scan({"a": [1, {"b": 2.5}]}, PERSONAL)


def test_keyed_normalisation_drops_every_kind_of_whitespace_like_the_regex_did() -> None:
    import re

    from audit.log.leaf import normalize_keyed

    odd = " \t\n\r\x0b\x0c\u00a0\u3000\u2003\u200a\x1c\x85"  # incl. NBSP, ideographic space
    for s in ("33038119900101123x", f"330 381{odd}19900101123x", "hh-001", odd, "x"):
        assert normalize_keyed(s) == re.sub(r"\s+", "", s).upper().encode()


def test_pointers_escape_tilde_and_slash() -> None:
    r = Redactor(PERSONAL, salt_source=lambda n: b"S" * n)
    _, pd = r.redact({"a/b": {"c~d": [{"name": "x"}]}}, ("payload",))
    assert pd is not None and list(pd.fields) == ["/payload/a~1b/c~0d/0/name"]
