"""The one place a service's refusal becomes Chinese (`portal.refusals`): field + code, most
specific first, never the service's English reason; and the services send that code."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from contracts.corrections import NOTE_MAX
from eventkit.http_errors import code_of, install_error_handlers
from portal.forms import FormState, refused
from portal.http.clerk import SUBMIT_FIELDS
from portal.refusals import BY_DOMAIN_CODE, BY_FIELD, BY_TYPE, field_key, message_zh
from portal.services_api import ServiceError, _error

pytestmark = pytest.mark.unit

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_a_field_with_its_code_gets_its_own_message() -> None:
    text = message_zh(422, "applicant.id_number", "invalid_id_number")
    assert text.startswith("身份证号码无效") and "校验" in text
    assert message_zh(422, "fee_paid_fen", "fee_mismatch") != message_zh(
        422, "deposit_paid_fen", "fee_mismatch"
    )


def test_a_domain_code_says_enough_by_itself_whatever_the_field() -> None:
    assert message_zh(409, "status", "wrong_status") == BY_DOMAIN_CODE["wrong_status"]
    assert message_zh(422, "materials[3].code", "material_not_in_list") == (
        "该材料不在本事项的材料清单中"
    )
    assert message_zh(403, "actor", "not_permitted").startswith("您不是此办件的承办人员")


def test_a_generic_code_is_worded_by_what_the_field_must_be() -> None:
    assert message_zh(422, "applicant.phone", "invalid_field") == BY_FIELD["applicant.phone"]
    assert message_zh(422, "payment_receipt_no", "invalid_field") == "已收取费用，请填写缴费票据号"
    assert message_zh(422, "note", "invalid_value") == f"说明不超过{NOTE_MAX}字"
    # indices and a wrapping object are looked through
    assert (
        message_zh(422, "requested_materials[2]", "invalid_value")
        == BY_FIELD["requested_materials"]
    )
    assert message_zh(422, "item.reason", "value_error") == BY_FIELD["reason"]


def test_a_pydantic_type_is_worded_with_its_limit() -> None:
    assert message_zh(422, "comment", "string_too_long", {"max_length": 500}) == "不超过500个字"
    assert message_zh(422, "x", "missing") == "此项必填"
    assert message_zh(422, "x", "greater_than_equal", {"ge": 1}) == "不能小于1"
    # a template whose limit the service did not send falls back to the status
    assert message_zh(422, "x", "string_too_long") == "填写有误，请核对"


def test_unknown_codes_fall_back_to_the_status_and_everything_is_chinese() -> None:
    assert message_zh(422, "zzz", "no_such_code") == "填写有误，请核对"
    assert message_zh(502) == "服务暂时不可用，请稍后再试"
    assert message_zh(418) == "办理失败（418），请稍后再试"
    for table in (BY_DOMAIN_CODE, BY_FIELD, BY_TYPE):
        for text in table.values():
            assert CJK.search(text), text


def test_a_message_names_the_refusals_values_and_the_items_number() -> None:
    ctx = {"date": "2035-01-02", "weekday": "星期二"}
    assert message_zh(422, "makeup_workdays[0]", "not_a_weekend", ctx) == (
        "第1项 2035-01-02 是星期二：调休上班日应为周六或周日"
    )
    assert message_zh(
        422,
        "item.promised_limit_days",
        "promise_exceeds_statutory",
        {"promised": 21, "statutory": 20},
    ) == ("承诺时限21个工作日超过法定时限20个工作日")
    # without its values the specific message is skipped for the next one that fits
    assert message_zh(422, "makeup_workdays[0]", "not_a_weekend") == "填写有误，请核对"


def test_field_key_drops_list_indices() -> None:
    assert field_key("materials_provided[2].form") == "materials_provided.form"
    assert field_key(None) == ""


def test_the_clerks_form_gets_the_chinese_message_beside_the_right_field() -> None:
    typed = {"name": "陈小芳", "id_number": "330381199004151230", "phone": "13800000000"}
    exc = ServiceError(
        "intake", 422, "applicant.id_number", "check digit", "invalid_id_number", from_service=True
    )
    again = refused(FormState(values=typed), exc, SUBMIT_FIELDS)
    assert list(again.errors) == ["id_number"] and "身份证号码无效" in again.errors["id_number"]
    assert again.values == typed  # what was typed is kept


class _Thing(BaseModel):
    name: str = Field(max_length=3)


class FeeMismatch(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, FeeMismatch, lambda _: 422)

    @app.post("/things")
    async def things(body: _Thing) -> dict[str, str]:
        if body.name == "fee":
            raise FeeMismatch("fee_paid_fen", "3000 fen is the standard")
        return {"name": body.name}

    return app


async def test_the_services_send_the_code_the_portal_reads() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.post("/things", json={"name": "long name"})
        detail = r.json()["detail"]
        assert (detail["code"], detail["ctx"]) == ("string_too_long", {"max_length": 3})
        exc = _error("intake", r)
        assert (exc.field, exc.code, exc.from_service) == ("name", "string_too_long", True)
        assert message_zh(exc.status, exc.field, exc.code, exc.ctx) == "不超过3个字"
        r = await c.post("/things", json={"name": "fee"})
        exc = _error("intake", r)
        assert (exc.field, exc.code) == ("fee_paid_fen", "fee_mismatch")
        assert message_zh(exc.status, exc.field, exc.code) == BY_FIELD_CODE_FEE


BY_FIELD_CODE_FEE = "所收费用与公布的收费标准不符，请按标准收取"


def test_code_of_is_the_class_name_in_snake_case_unless_set() -> None:
    class InvalidIdNumber(Exception):
        pass

    assert code_of(InvalidIdNumber()) == "invalid_id_number"
    e = InvalidIdNumber()
    e.code = "string_too_long"  # type: ignore[attr-defined]
    assert code_of(e) == "string_too_long"
