"""Who sees which cases (issue 4, "Access"), as a filter the queries apply.

- officers (and community agents, who hold the window posts of community centers) see the
  cases of their office — the office their staff record names, else their unit — and any
  case assigned to them; a community agent also sees the cases they carry (全程代理);
- center heads see the cases handled at their center and, at town or city level, at every
  unit below it;
- inspectors see everything and change nothing (their role opens no POST route).

Where the caller works comes from the org tree (the token's `sub` is a staff id); the
token's `org_id` is used only for a subject the tree does not list. A caller the rules give
no cases gets an empty queue, and a case outside the scope is a 403 naming the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventkit.auth import Principal
from eventkit.envelope import Actor

from ..domain.org_model import OrgState
from .errors import refuse

READERS = ("officer", "community_agent", "center_head", "inspector")
DECIDERS = ("officer", "community_agent", "center_head")


def actor_of(principal: Principal) -> Actor:
    """The actor every event of this request names (责任追究制)."""
    return Actor(id=principal.sub, role=principal.role, org_id=principal.org_id)


@dataclass(frozen=True)
class CaseScope:
    everything: bool = False
    units: frozenset[str] = field(default_factory=frozenset)
    offices: frozenset[str] = field(default_factory=frozenset)
    assignee: str | None = None
    agent: str | None = None

    def allows(self, row: Any) -> bool:
        if self.everything:
            return True
        return (
            row["handling_unit_id"] in self.units
            or row["handling_office_id"] in self.offices
            or (self.assignee is not None and row["assigned_to"] == self.assignee)
            or (self.agent is not None and row["agent_id"] == self.agent)
        )

    def sql(self, args: list[Any]) -> str:
        """A WHERE fragment over `case_queue` (parameters appended to `args`)."""
        if self.everything:
            return "true"
        args += [sorted(self.units), sorted(self.offices), self.assignee, self.agent]
        n = len(args)
        return (
            f"(handling_unit_id = ANY(${n - 3}::text[]) OR handling_office_id = ANY(${n - 2}"
            f"::text[]) OR assigned_to = ${n - 1} OR agent_id = ${n})"
        )


def unit_of(principal: Principal, org: OrgState) -> str | None:
    staff = org.staff.get(principal.sub)
    if staff is not None:
        return staff.unit_id
    if principal.org_id in org.units:
        return principal.org_id
    return None


def subtree(org: OrgState, unit_id: str) -> frozenset[str]:
    out = {unit_id}
    frontier = [unit_id]
    children: dict[str, list[str]] = {}
    for u in org.units.values():
        if u.parent_id is not None:
            children.setdefault(u.parent_id, []).append(u.unit_id)
    while frontier:
        for child in children.get(frontier.pop(), ()):
            if child not in out:
                out.add(child)
                frontier.append(child)
    return frozenset(out)


def case_scope(principal: Principal, org: OrgState) -> CaseScope:
    if principal.role == "inspector":
        return CaseScope(everything=True)
    if principal.role not in DECIDERS:
        raise refuse(403, "role", f"role {principal.role!r} does not read case queues")
    unit = unit_of(principal, org)
    if principal.role == "center_head":
        if unit is None:
            return CaseScope(assignee=principal.sub)
        units = subtree(org, unit) if org.units[unit].tier in ("town", "city") else {unit}
        return CaseScope(units=frozenset(units), assignee=principal.sub)
    agent = principal.sub if principal.role == "community_agent" else None
    staff = org.staff.get(principal.sub)
    if staff is not None and staff.office_id is not None:
        offices = frozenset({staff.office_id})
        return CaseScope(offices=offices, assignee=principal.sub, agent=agent)
    if unit is not None:
        return CaseScope(units=frozenset({unit}), assignee=principal.sub, agent=agent)
    return CaseScope(assignee=principal.sub, agent=agent)
