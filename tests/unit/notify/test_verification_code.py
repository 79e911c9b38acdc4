"""Issue 18 #5: the resident's verification code is in no event and in no stored message.

The receipt is planned (and stored in `deliveries`, shown by `GET /v1/deliveries`) with a
slot where the code goes; the dispatcher derives the code with the shared secret
(`contracts.verification`, the rule intake uses) and fills it into what the channel sends.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from contracts.verification import verification_code
from notify.channels import PermanentFailure
from notify.delivery.dispatcher import Dispatcher
from notify.settings import Settings

from . import factories as f
from .test_planner import given

pytestmark = pytest.mark.unit

SECRET = "notify-unit-verification-secret-0123"


def _row(intent: Any, case_id: str) -> dict[str, Any]:
    return {
        "delivery_id": intent.delivery_id,
        "event_id": "e",
        "event_type": "intake.application_accepted",
        "case_id": case_id,
        "recipient_id": intent.recipient_id,
        "recipient_kind": intent.recipient_kind,
        "channel": intent.channel,
        "address": intent.address,
        "template": intent.template,
        "subject": intent.subject,
        "body": intent.body,
        "data": orjson.dumps(dict(intent.data)).decode(),
    }


def _dispatcher(secret: str | None) -> Any:
    settings = Settings(verification_secret=secret) if secret else Settings()
    return SimpleNamespace(ctx=SimpleNamespace(settings=settings))


def test_the_planned_receipt_holds_a_slot_not_the_code_and_the_sent_one_the_code() -> None:
    case = f.new_case_id()
    code = verification_code(case, SECRET.encode())
    intents = given().given_applicant(case).when(f.accepted(case)).plan.intents
    assert intents
    for i in intents:
        stored = _row(i, case)
        assert code not in orjson.dumps(stored).decode()
        assert "查询码：发送时填入" in i.body
        sent = Dispatcher.message(_dispatcher(SECRET), stored)  # type: ignore[arg-type]
        assert f"查询码 {code} 可随时查询" in sent.body
        assert "发送时填入" not in sent.body
        assert sent.data["verification_code"] == code


def test_without_the_secret_a_receipt_is_not_sent_with_a_wrong_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOTIFY_VERIFICATION_SECRET", raising=False)
    monkeypatch.delenv("INTAKE_VERIFICATION_SECRET", raising=False)
    case = f.new_case_id()
    intent = given().given_applicant(case).when(f.accepted(case)).plan.intents[0]
    with pytest.raises(PermanentFailure, match="NOTIFY_VERIFICATION_SECRET"):
        Dispatcher.message(_dispatcher(None), _row(intent, case))  # type: ignore[arg-type]


def test_an_older_event_with_the_code_loses_it_on_read() -> None:
    """A v2 `application_accepted` still carries the code; the upcaster drops it."""
    from contracts.upcasters import UPCASTERS

    env = orjson.loads(f.accepted(f.new_case_id()).model_dump_json())
    env["schema_version"] = 2
    env["payload"]["verification_code"] = "482913"
    up = UPCASTERS.upcast(env)
    assert "verification_code" not in up["payload"]
    assert up["schema_version"] == 3
