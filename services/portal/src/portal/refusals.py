"""A service's refusal, in Chinese: the one place every form of the portal words it.

The services answer every 4xx as ``{"detail": {"field", "reason", "code", "ctx"}}``
(`eventkit.http_errors`): `field` is the path into the request (`applicant.id_number`,
`materials_provided[2].copies`), `code` says which kind of refusal it is — a pydantic error
type (`string_too_long`, `missing`...) or a domain refusal (`invalid_id_number`,
`fee_mismatch`, `wrong_state`...) — and `ctx` the limit that was broken. The `reason` is the
service's own words for developers, in English: it is never shown on a form.

`message_zh` looks, most specific first, for:

1. the field with its code (`applicant.id_number` + `invalid_id_number`);
2. a domain refusal code that says enough by itself (`fee_mismatch`, `wrong_state`...);
3. for a code that only says "this value is wrong" (`invalid_field`, `invalid_value`,
   `value_error`, none), what that field must be (`applicant.phone` -> 有效的电话号码);
4. the pydantic error type, with its limit (`string_too_long` + max_length -> 不超过200字);
5. the HTTP status.

Field paths are compared without their list indices and, failing that, by their last part,
so `materials_provided[2].copies` finds `materials_provided.copies` or `copies`. A message
may name the refusal's `ctx` values (`{date}`, `{max_length}`) and `{n}`, the item's number
in a list (the field's first index + 1); a message whose values did not come is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from contracts.corrections import NOTE_MAX

GENERIC_CODES = frozenset(
    {"invalid_field", "invalid_value", "value_error", "assertion_error", "domain_error", ""}
)

# 1. a field with its code -------------------------------------------------------------------
BY_FIELD_CODE: dict[tuple[str, str], str] = {
    ("applicant.id_number", "invalid_id_number"): (
        "身份证号码无效：请核对出生日期和末位校验码（18位，末位可为X）"
    ),
    ("item_code", "unknown_item"): "没有这个办理事项，请从列表中选择",
    ("code", "unknown_item"): "没有这个办理事项，请从列表中选择",
    ("item_code", "item_not_in_force"): "该事项当前不在有效期内（尚未施行或已废止），不能受理",
    ("fee_paid_fen", "fee_mismatch"): "所收费用与公布的收费标准不符，请按标准收取",
    ("deposit_paid_fen", "fee_mismatch"): "所收保证金与公布的标准不符，请按标准收取",
    ("case_id", "already_exists"): "此办件已经办理过，不能重复提交",
    ("score", "already_exists"): "此办件已评价过（每件只评一次）",
    ("case_id", "wrong_state"): "办件当前状态不允许此操作（可能已被他人办理），请刷新页面查看",
    ("followup_id", "wrong_state"): "此差评督办已回复过",
    ("to_officer", "unknown_reference"): "没有这位工作人员，请从列表中选择",
    ("actor", "not_permitted"): "您不是此办件的承办人员，无权办理（请由承办人或其A/B岗办理）",
    # a year's holiday schedule (contracts.holiday_schedules)
    ("makeup_workdays", "not_a_weekend"): "第{n}项 {date} 是{weekday}：调休上班日应为周六或周日",
    ("makeup_workdays", "also_a_holiday"): "第{n}项 {date} 同时列为放假日期",
    ("makeup_workdays", "not_in_year"): "第{n}项 {date} 不在{year}年内",
    ("makeup_workdays", "listed_twice"): "第{n}项 {date} 重复填写",
    ("holidays", "not_in_year"): "第{n}项 {date} 不在{year}年内",
    ("holidays", "listed_twice"): "第{n}项 {date} 重复填写",
    # a catalog version (intake's catalog rules)
    ("promised_limit_days", "promise_exceeds_statutory"): (
        "承诺时限{promised}个工作日超过法定时限{statutory}个工作日"
    ),
}

# 2. domain refusals that say enough by themselves ---------------------------------------------
BY_DOMAIN_CODE: dict[str, str] = {
    "invalid_id_number": "身份证号码无效：请核对出生日期和末位校验码",
    "unknown_item": "没有这个办理事项",
    "item_not_in_force": "该事项当前不在有效期内，不能受理",
    "material_not_in_list": "该材料不在本事项的材料清单中",
    "fee_mismatch": "所收金额与公布的标准不符，请按标准收取",
    "wrong_status": "办件当前状态不允许此操作，请刷新页面查看最新状态",
    "wrong_state": "办件当前状态不允许此操作，请刷新页面查看最新状态",
    "already_exists": "已经办理过，不能重复提交",
    "conflict": "与当前状态冲突，请刷新页面后再试",
    "not_permitted": "您无权办理此事项",
    "unknown_reference": "所选对象不存在，请从列表中选择",
    "case_not_found": "没有这个办件",
    "not_found": "没有找到对应的记录",
    "unroutable": "没有可承办此事项的机构或岗位，请联系系统管理员核对机构设置",
}

# 3. what a field must be (when the code only says the value is wrong) -------------------------
BY_FIELD: dict[str, str] = {
    "applicant.name": "请填写申请人姓名",
    "applicant.id_number": "身份证号码无效：请核对出生日期和末位校验码（18位，末位可为X）",
    "applicant.phone": "请填写有效的手机或座机号码",
    "applicant.address": "请填写住址",
    "applicant.registered_community_id": "请选择户籍（居住登记）所在社区",
    "accepting_center_id": "受理中心不是村（社区）便民服务中心，请联系管理员核对账号",
    "fee_paid_fen": "收费金额有误（不能为负数）",
    "deposit_paid_fen": "保证金金额有误（不能为负数）",
    "payment_receipt_no": "已收取费用，请填写缴费票据号",
    "materials": "请勾选本次提交的材料",
    "materials_provided": "材料有误，请核对清单",
    "requested_materials": "所选材料不在本办件的材料清单中，或重复勾选",
    "note": f"说明不超过{NOTE_MAX}字",
    "reason": "请写明理由",
    "answer": "请填写回复内容（回访情况与整改措施）",
    "to_officer": "只能改派给承办中心的其他审批人员（不能是当前承办人）",
    "tracking_no": "邮寄送达请填写快递单号",
    "center_id": "请填写领取结果的中心",
    "score": "请选择1至5分",
    "comment": "评价内容过长",
    "dimensions": "分项评分为1至5分",
    "file": "请选择PDF、JPEG或PNG格式的扫描件",
    "content_type": "扫描件应为PDF、JPEG或PNG格式",
    "size": "扫描件为空或过大",
    "documents": "本办件的扫描件已达上限",
    "material_code": "请选择本事项清单中的材料",
    "status": "办件当前状态不允许此操作，请刷新页面查看最新状态",
    "Idempotency-Key": "表单已提交过，请刷新页面后重新填写",
    "receipt_no": "请填写受理回执号",
    "code": "请填写正确的编码",
}

# 4. pydantic's error types ---------------------------------------------------------------------
BY_TYPE: dict[str, str] = {
    "missing": "此项必填",
    "string_too_short": "内容过短（至少{min_length}个字）",
    "string_too_long": "不超过{max_length}个字",
    "too_short": "至少选择{min_length}项",
    "too_long": "最多{max_length}项",
    "string_pattern_mismatch": "格式不正确",
    "string_type": "应填写文字",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为“是”或“否”",
    "greater_than": "应大于{gt}",
    "greater_than_equal": "不能小于{ge}",
    "less_than": "应小于{lt}",
    "less_than_equal": "不能大于{le}",
    "literal_error": "请从列出的选项中选择",
    "enum": "请从列出的选项中选择",
    "date_parsing": "日期格式应为 年-月-日，例如 2027-01-01",
    "date_from_datetime_parsing": "日期格式应为 年-月-日，例如 2027-01-01",
    "date_type": "日期格式应为 年-月-日，例如 2027-01-01",
    "datetime_parsing": "时间格式应为 年-月-日 时:分",
    "datetime_from_date_parsing": "时间格式应为 年-月-日 时:分",
    "timezone_aware": "时间须带时区（北京时间 +08:00）",
    "time_parsing": "时间格式应为 时:分，例如 08:30",
    "url_parsing": "网址格式不正确",
    "extra_forbidden": "多余的填写项",
    "list_type": "应为多项选择",
    "dict_type": "格式不正确",
    "json_invalid": "内容无法读取，请刷新页面后重试",
    "value_error": "填写的内容不符合要求",
}

# 5. the HTTP status ----------------------------------------------------------------------------
BY_STATUS: dict[int, str] = {
    400: "请求有误，请核对后重新提交",
    401: "登录已过期，请重新登录",
    403: "您无权办理此事项",
    404: "没有找到对应的记录",
    409: "当前状态不允许此操作，请刷新页面查看",
    413: "内容过长或文件过大",
    422: "填写有误，请核对",
    429: "尝试次数过多，请稍后再试",
    503: "服务暂时不可用，请稍后再试",
}

_INDEX = re.compile(r"\[\d+\]")


def field_key(field: str | None) -> str:
    """The field path without list indices: `materials_provided[2].form` ->
    `materials_provided.form`."""
    return _INDEX.sub("", field or "")


def _lookups(field: str | None) -> list[str]:
    key = field_key(field)
    parts = key.split(".")
    out = [key]
    # `item.fee.amount_fen` -> also `fee.amount_fen`, `amount_fen` (a command wraps the body)
    out += [".".join(parts[i:]) for i in range(1, len(parts))]
    return [k for k in out if k]


def _with_ctx(template: str, ctx: Mapping[str, Any] | None) -> str | None:
    try:
        return template.format(**(ctx or {}))
    except (KeyError, IndexError, ValueError):
        return None


def message_zh(
    status: int,
    field: str | None = None,
    code: str | None = None,
    ctx: Mapping[str, Any] | None = None,
) -> str:
    """The refusal in Chinese, for the form field it names (or above the form)."""
    code = code or ""
    keys = _lookups(field)
    values = dict(ctx or {})
    index = _INDEX.search(field or "")
    if index is not None:
        values.setdefault("n", int(index.group(0)[1:-1]) + 1)
    found: list[str] = []
    found += [BY_FIELD_CODE[(k, code)] for k in keys if (k, code) in BY_FIELD_CODE]
    if code in BY_DOMAIN_CODE:
        found.append(BY_DOMAIN_CODE[code])
    if code in GENERIC_CODES:
        found += [BY_FIELD[k] for k in keys if k in BY_FIELD]
    if code in BY_TYPE:
        found.append(BY_TYPE[code])
    for template in found:
        text = _with_ctx(template, values)
        if text is not None:
            return text
    if 500 <= status:
        return BY_STATUS[503]
    return BY_STATUS.get(status, f"办理失败（{status}），请稍后再试")
