"""The pure domain core of intake: the service catalog and the application case.

No I/O, no clock, no randomness: each aggregate is a decider
(`decide(command, state, now) -> events`, `evolve(state, event) -> state`,
`initial_state()`); refusals are `errors.DomainError`s naming the field and the reason.

- `catalog`: `PublishCatalogItem`, `RetireCatalogItem`, the `Catalog` state with
  `version_in_force(code, at)`.
- `application`: the case from submission to archive; its decider also reads an
  `IntakeContext` (catalog, verification secret, the accepting center's office hours), bound by
  `decider_for(ctx)`. Commands live in `application_commands`.
"""

from . import application, catalog
from .application import ApplicationState, IntakeContext, decider_for, missing_materials
from .application_commands import (
    EVALUATION_DIMENSIONS,
    ApplicationCommand,
    ArchiveCase,
    DeliverResult,
    EvaluateService,
    RecordCorrectionRequested,
    RecordDecisionReceived,
    SubmitApplication,
    SupplementMaterials,
    SupplyCorrection,
    WithdrawApplication,
)
from .catalog import Catalog, PublishCatalogItem, RetireCatalogItem
from .errors import DomainError, parse_command
from .receipts import receipt_number, verification_code, verify

__all__ = [
    "EVALUATION_DIMENSIONS",
    "ApplicationCommand",
    "ApplicationState",
    "ArchiveCase",
    "Catalog",
    "DeliverResult",
    "DomainError",
    "EvaluateService",
    "IntakeContext",
    "PublishCatalogItem",
    "RecordCorrectionRequested",
    "RecordDecisionReceived",
    "RetireCatalogItem",
    "SubmitApplication",
    "SupplementMaterials",
    "SupplyCorrection",
    "WithdrawApplication",
    "application",
    "catalog",
    "decider_for",
    "missing_materials",
    "parse_command",
    "receipt_number",
    "verification_code",
    "verify",
]
