"""notify's pure core: which messages an event causes, their text, and when they may go.

No I/O here: `plan(envelope, directory, setup, now)` takes everything it needs as values
(the directory is a snapshot the edge loads for the ids the event names) and returns
`DeliveryIntent`s; `next_allowed_time` is the quiet-hours rule.
"""

from .model import (
    CODE_SLOT,
    CaseInfo,
    ChannelSetup,
    DeliveryIntent,
    Directory,
    Plan,
    StaffContact,
    applicant_id,
    delivery_id,
    fill_code,
)
from .planner import Needs, needs, plan
from .quiet_hours import QuietHours, next_allowed_time, parse_quiet_hours
from .templates import Template, load_templates, render

__all__ = [
    "CODE_SLOT",
    "CaseInfo",
    "ChannelSetup",
    "DeliveryIntent",
    "Directory",
    "Needs",
    "Plan",
    "QuietHours",
    "StaffContact",
    "Template",
    "applicant_id",
    "delivery_id",
    "fill_code",
    "load_templates",
    "needs",
    "next_allowed_time",
    "parse_quiet_hours",
    "plan",
    "render",
]
