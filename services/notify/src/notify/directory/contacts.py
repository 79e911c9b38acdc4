"""The applicant's contact, asked of intake when a resident's message is planned (issue 15).

`intake.application_submitted` carries the applicant sealed with a key only intake holds,
so notify's directory keeps the sealed fields and, for a case whose contact is sealed, asks
intake (`GET /internal/v1/contacts/{case_id}`, intake's `http.contact_routes`, which says why
notify holds no key). An erased applicant (410) has no contact: nothing is sent to them. An
intake that does not answer is a transient failure: the consumer retries the event.
Cases of events written before sealing carry their contact in the clear and are used as is.

Opened contacts are kept in memory for a short while (`NOTIFY_CONTACT_CACHE_SECONDS`, 300;
0: ask every time), keyed by the case AND its sealed fields as notify's directory holds
them: a case's later messages (accepted, decided, result ready, ...) ask intake once, not
once each (about three times a case before; docs/PERSONAL_DATA.md, Cost). An
erasure scrubs the directory's row (`directory.projection`), so once notify has read
`intake.personal_data_erased` the key no longer matches and nothing is sent. Between
intake's erasure and that read (notify's lag on the intake topic, normally under a second)
a contact opened in the last five minutes may still be used, as a message planned just
before the erasure always could be.
"""

from __future__ import annotations

import dataclasses

import httpx
from cachetools import TTLCache

from contracts.personal_data import CONTACT_SECRET_HEADER
from eventkit.personal_data import is_sealed

from ..domain.model import CaseInfo, Directory


class ContactUnavailable(ConnectionError):
    """Intake did not answer with the contact: retry the event later (transient)."""


class IntakeContacts:
    def __init__(
        self,
        base_url: str,
        secret: bytes,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        cache_seconds: float = 300.0,
        cache_size: int = 20_000,
    ) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, transport=transport)
        self._secret = secret.decode()
        self._opened: TTLCache[tuple[str | None, ...], CaseInfo] | None = (
            TTLCache(maxsize=cache_size, ttl=cache_seconds) if cache_seconds > 0 else None
        )
        self.asked = 0
        """How many times intake was asked (not counting answers kept in memory)."""

    async def close(self) -> None:
        await self._client.aclose()

    async def opened(self, directory: Directory) -> Directory:
        """`directory` with every sealed applicant contact replaced by intake's answer."""
        sealed = [c for c in directory.cases.values() if _is_sealed(c)]
        if not sealed:
            return directory
        cases = dict(directory.cases)
        for case in sealed:
            cases[case.case_id] = await self._open(case)
        return dataclasses.replace(directory, cases=cases)

    async def _open(self, case: CaseInfo) -> CaseInfo:
        key = (case.case_id, case.applicant_name, case.phone, case.email)
        if self._opened is not None and (hit := self._opened.get(key)) is not None:
            return dataclasses.replace(
                case, applicant_name=hit.applicant_name, phone=hit.phone, email=hit.email
            )
        opened = await self._ask(case)
        if self._opened is not None:
            self._opened[key] = opened
        return opened

    async def _ask(self, case: CaseInfo) -> CaseInfo:
        self.asked += 1
        try:
            r = await self._client.get(
                f"/internal/v1/contacts/{case.case_id}",
                headers={CONTACT_SECRET_HEADER: self._secret},
            )
        except httpx.TransportError as exc:
            raise ContactUnavailable(f"intake did not answer for {case.case_id}: {exc}") from exc
        if r.status_code == 410:  # erased: nobody to tell
            return dataclasses.replace(case, applicant_name="申请人", phone=None, email=None)
        if r.status_code != 200:
            raise ContactUnavailable(
                f"intake answered {r.status_code} for the contact of {case.case_id}"
            )
        c = r.json()
        return dataclasses.replace(
            case,
            applicant_name=c.get("name") or "申请人",
            phone=c.get("phone"),
            email=c.get("email"),
        )


def _is_sealed(case: CaseInfo) -> bool:
    return any(is_sealed(v) for v in (case.applicant_name, case.phone, case.email))
