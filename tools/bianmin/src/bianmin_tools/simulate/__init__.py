"""A realistic, deterministic history of the convenience service centers, written by the
services' own deciders.

Used by the tests, the replay benchmark, the committed example report and `bianmin
generate`. The simulation decides what people DO — residents arriving and handing in
materials, coming back or not, officers deciding and asking for corrections, heads
reassigning when an A post holder is away, administrators recording absences, residents
rating the service (`people`, seeded draws). What HAPPENS is decided by the services:
every intake, routing and notify event is the output of the service's decider (or notify's
planner) for a command its edge would have built, with a simulated clock (`edges`, `case`).
So receipt numbers, verification codes, promised dates, routes, A/B assignments, deadlines,
warnings, escalations and the messages sent are exactly the services' — a history the
services could have written, and `tests/unit/simulate/test_replay_through_deciders.py`
re-derives every event from the deciders to prove it.

Reference data is the services' seed run through their deciders: the org tree
(`routing.seed_org`) and the catalog (`intake.seed_catalog`).
"""

from .history import SERVICE_TOPICS, GeneratorConfig, GenEvent, History
from .run import generate

__all__ = ["SERVICE_TOPICS", "GenEvent", "GeneratorConfig", "History", "generate"]
