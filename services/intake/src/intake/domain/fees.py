"""阳光运作 sunshine: the fee and deposit paid must equal the published standard of the
catalog version in force, unless an officer overrides with a reason (`FeeOverrideRecorded`
names the officer). Kept apart so the fee rule is found and changed in one place."""

from __future__ import annotations

from contracts.intake import (
    CatalogItemVersion,
)

from .application_commands import (
    SubmitApplication,
)
from .errors import (
    FeeMismatch,
    InvalidField,
)


def check_money(cmd: SubmitApplication, item: CatalogItemVersion) -> tuple[str, ...]:
    """The fields that differ from the published standard, if an override allows them."""
    for name in ("fee_paid_fen", "deposit_paid_fen"):
        if getattr(cmd, name) < 0:
            raise InvalidField(name, "must not be negative")
    mismatches: list[tuple[str, str]] = []
    if cmd.fee_paid_fen != item.fee.amount_fen:
        standard = "不收费 (free)" if item.fee.free else f"{item.fee.amount_fen} fen"
        mismatches.append(
            (
                "fee_paid_fen",
                f"paid {cmd.fee_paid_fen} fen; the published fee of {item.code} "
                f"v{item.version} is {standard}",
            )
        )
    if cmd.deposit_paid_fen != item.deposit_fen:
        mismatches.append(
            (
                "deposit_paid_fen",
                f"paid {cmd.deposit_paid_fen} fen; the published deposit of {item.code} "
                f"v{item.version} is {item.deposit_fen} fen",
            )
        )
    override = cmd.fee_override
    if mismatches and override is None:
        field, reason = mismatches[0]
        raise FeeMismatch(field, reason + " (an officer may override with a reason)")
    if override is not None:
        if not mismatches:
            raise InvalidField(
                "fee_override", "fee and deposit match the standard: nothing to override"
            )
        if not override.officer_id.strip():
            raise InvalidField("fee_override.officer_id", "the overriding officer is required")
        if not override.reason.strip():
            raise InvalidField("fee_override.reason", "an override needs a reason")
    if (cmd.fee_paid_fen or cmd.deposit_paid_fen) and not (cmd.payment_receipt_no or "").strip():
        raise InvalidField("payment_receipt_no", "money was paid: the payment receipt is required")
    return tuple(name for name, _ in mismatches)
