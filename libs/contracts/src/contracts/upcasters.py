"""The published language's upcasters: each old schema version to the next, on read.

Pure `dict -> dict` steps over whole envelopes (see `eventkit.upcasting`); stored events
and topics are never rewritten. Give `UPCASTERS` to every reader of the published events
(`EventConsumer(upcasters=UPCASTERS)`, store readers); the goldens in
`tests/contracts/golden` pin every step.

Versions so far:
- `routing.deadline_warning_issued` / `routing.case_overdue` v2: the post's `a_holder` and
  `b_holder` (who are told besides the assignee); a v1 event did not say, so None.
- `routing.case_escalated` v2: `center_head`, the handling center's head (told again at
  level 2); a v1 event did not say, so None.
- `routing.deadline_set` v2, `routing.case_decided` v2, `intake.application_accepted` v2:
  `provisional_years`, the years the promise was counted over without an official holiday
  schedule (issue 13 #7); a v1 event did not say, so None.
- `intake.application_withdrawn` v2: `confirmation`, how the withdrawal is known to be the
  resident's act (themself, the accepting center's staff, or their verification code at
  another center); a v1 event did not say, so None.
- `intake.application_accepted` v3: `verification_code` dropped. The resident's code is a
  secret (issue 18 #5); an older event that carried it loses it on read, so no reader
  (notify, analytics, an inspector's query, a replay) sees it again. The stored records
  and Kafka still hold it until they are rewritten; the audit log's Merkle leaves already
  written keep it (crypto-shredding of leaves is issue 15's work).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventkit.upcasting import Upcaster, UpcasterRegistry

UPCASTERS = UpcasterRegistry()


def _unknown(*fields: str) -> Upcaster:
    """A step adding optional `fields` a previous version did not carry, as None: an old
    event does not say, and a reader treats None as "not known" (never as "nobody")."""

    def step(env: dict[str, Any]) -> dict[str, Any]:
        return {**env, "payload": {**dict.fromkeys(fields), **env["payload"]}}

    return step


def _without(*fields: str) -> Upcaster:
    """A step dropping `fields` a previous version carried and the next must not."""

    def step(env: dict[str, Any]) -> dict[str, Any]:
        payload = {k: v for k, v in env["payload"].items() if k not in fields}
        return {**env, "payload": payload}

    return step


_STEPS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("routing.deadline_warning_issued", 1): _unknown("a_holder", "b_holder"),
    ("routing.case_overdue", 1): _unknown("a_holder", "b_holder"),
    ("routing.case_escalated", 1): _unknown("center_head"),
    ("routing.deadline_set", 1): _unknown("provisional_years"),
    ("routing.case_decided", 1): _unknown("provisional_years"),
    ("intake.application_accepted", 1): _unknown("provisional_years"),
    ("intake.application_accepted", 2): _without("verification_code"),
    ("intake.application_withdrawn", 1): _unknown("confirmation"),
}
for (_type, _from), _step in _STEPS.items():
    UPCASTERS.add(_type, _from, _step)
