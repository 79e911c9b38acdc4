"""Every form: CSRF check, idempotency key, errors beside the field in Chinese.

A service's refusal is worded by `portal.refusals.message_zh` (field + code -> Chinese), the
one place for every form; `refused` puts it beside the form field it names.

A form page gets `form_state()` (fresh idempotency key, no errors); the form carries the
session's CSRF token and the key as hidden fields. `read_form` checks the CSRF token (403
otherwise) and returns what was typed, so a refused form is shown again with the values kept,
the errors beside their fields, and a NEW key (the service has answered the old one).
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request

from .refusals import message_zh
from .services_api import ServiceError

CSRF_FIELD = "csrf_token"
IDEM_FIELD = "idempotency_key"


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


@dataclass
class FormState:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    idempotency_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    message: str | None = None  # an error about the whole form

    @property
    def ok(self) -> bool:
        return not self.errors and self.message is None

    def error(self, name: str, text: str) -> None:
        self.errors.setdefault(name, text)


def form_state(**values: Any) -> FormState:
    return FormState(values=dict(values))


async def read_form(request: Request) -> FormState:
    """The submitted form (CSRF checked), with the idempotency key it carried."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not hmac.compare_digest(sent, expected)
    ):
        raise HTTPException(403, detail="表单已失效（CSRF 校验未通过），请刷新页面后重新提交。")
    values: dict[str, Any] = {}
    for k in form:
        if k in (CSRF_FIELD, IDEM_FIELD):
            continue
        items = form.getlist(k)
        values[k] = items if len(items) > 1 else items[0]
    key = form.get(IDEM_FIELD)
    state = FormState(values=values)
    if isinstance(key, str):
        try:
            state.idempotency_key = str(uuid.UUID(key))
        except ValueError:
            pass
    return state


def refused(state: FormState, exc: ServiceError, fields: dict[str, str]) -> FormState:
    """Put a service's refusal beside the form field it names (`fields` maps the service's
    field names to the form's), or above the form; the form gets a new idempotency key."""
    again = FormState(values=state.values)
    text = explain(exc)
    target = fields.get(exc.field or "") or next(
        (
            form_name
            for svc_name, form_name in fields.items()
            if exc.field and exc.field.startswith(svc_name)
        ),
        None,
    )
    if target:
        again.error(target, text)
    else:
        again.message = text
    return again


def explain(exc: ServiceError) -> str:
    """A refusal in Chinese: a service's by `portal.refusals` (never its English reason),
    the portal's own as it was worded."""
    if not exc.from_service:
        return exc.reason
    return message_zh(exc.status, exc.field, exc.code, exc.ctx)
