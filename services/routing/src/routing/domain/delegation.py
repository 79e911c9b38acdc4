"""Which tier handles an item for an applicant: the catalog's tier, unless a rule moves it.

审批权限上提、下授: a delegation rule names an item, an area (an org subtree) and the tier
that handles the item there, with dates. It applies to a case when the case's base unit
(the applicant's registered community, else the accepting center) lies inside the area and
the rule is in force on the day the case was accepted. When several rules apply, the one
with the smallest area wins (the deepest area root: a rule for one street beats a
city-wide one), then the one that took effect last, then the highest rule id — so the
outcome never depends on the order rules were set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts.routing import Tier

from .org_model import DelegationRule, OrgState

CATALOG_TIER_RULE = "catalog_tier"


@dataclass(frozen=True)
class TierChoice:
    tier: Tier
    rule: str  # "catalog_tier" or "delegation_rule:<rule_id>"
    rule_id: str | None = None


def applicable_rules(
    org: OrgState, item_code: str, base_unit_id: str, on: date
) -> list[DelegationRule]:
    """Rules for `item_code` covering `base_unit_id` in force on `on`, the winner first."""
    rules = [
        r
        for r in org.delegation_rules.values()
        if r.item_code == item_code
        and r.in_force(on)
        and r.area_unit_id in org.units
        and org.is_within(base_unit_id, r.area_unit_id)
    ]
    rules.sort(key=lambda r: (org.depth(r.area_unit_id), r.effective_from, r.rule_id), reverse=True)
    return rules


def handling_tier_for(
    org: OrgState, item_code: str, catalog_tier: Tier, base_unit_id: str, on: date
) -> TierChoice:
    rules = applicable_rules(org, item_code, base_unit_id, on)
    if not rules:
        return TierChoice(catalog_tier, CATALOG_TIER_RULE)
    winner = rules[0]
    return TierChoice(winner.handling_tier, f"delegation_rule:{winner.rule_id}", winner.rule_id)
