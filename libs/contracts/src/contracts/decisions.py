"""Who may decide a case: THE DECISION RULE, one rule for routing and audit.

责任追究制: the officer a case is assigned to (A post, B post, or whoever it was reassigned
to last) answers for it, so only they decide it. One exception, from the report: a
same-day item (即办件) handled at a community-tier center may be decided at once at that
center's window by its staff (an officer, a community agent or the center head) — the
decision is then "at the window".

Routing's decider refuses a decision the rule does not allow; audit's anomaly rule
`decision_by_non_assignee` flags a recorded decision the rule does not allow. Both call
`decision_right` with the facts of the case (its routing and last assignment) and of the
deciding staff member (their unit and roles in the org tree), so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

SAME_DAY = "same_day"
"""The case type of a same-day item (即办件), as the catalog and the events spell it."""

WINDOW_TIER = "community"
"""Only a community-tier center decides same-day items at its window."""

WINDOW_ROLES: frozenset[str] = frozenset({"officer", "community_agent", "center_head"})
"""The staff roles that may decide a same-day item at the window."""

DecisionRight = Literal["assignee", "at_window"]


@dataclass(frozen=True)
class StaffPost:
    """Where a staff member sits in the org tree: their unit and roles."""

    unit_id: str
    roles: Collection[str]


def decision_right(
    *,
    decided_by: str,
    assigned_to: str | None,
    case_type: str,
    handling_tier: str,
    handling_unit_id: str,
    staff: StaffPost | None,
) -> DecisionRight | None:
    """Why `decided_by` may decide the case, or None when they may not.

    `assigned_to` is the case's latest assignee; `case_type`, `handling_tier` and
    `handling_unit_id` are from its routing; `staff` is the decider's post (None when the
    org tree does not know them).
    """
    if assigned_to is not None and decided_by == assigned_to:
        return "assignee"
    if (
        case_type == SAME_DAY
        and handling_tier == WINDOW_TIER
        and staff is not None
        and staff.unit_id == handling_unit_id
        and not WINDOW_ROLES.isdisjoint(staff.roles)
    ):
        return "at_window"
    return None
