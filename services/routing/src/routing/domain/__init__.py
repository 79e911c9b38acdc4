"""Routing's pure domain: the org tree (org aggregate) and the case's route (case aggregate).

No I/O and no clock: every decider takes `now`. The edge (HTTP routes, Kafka subscribers,
PostgreSQL) folds the org stream into an `OrgState`, builds `CaseDecider(org, policy)` and
turns intake's events into case commands. Refusals are `errors.DomainError(field, reason)`.

Modules: `org_model` (state and queries), `org_admin` (admin commands, `decide_org`,
`evolve_org`), `delegation` (审批权限上提、下授), `duty` (rosters, absences, AB岗),
`policy` (deadline thresholds), `case_state` (`CaseState`, `evolve_case`), one module per
case use case, and `case` (`CaseDecider`).
"""
