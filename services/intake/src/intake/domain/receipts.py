"""Receipt numbers and resident verification codes, derived without randomness.

Deciders are pure and may be re-run, so both are functions of the case, never random draws:

- receipt number (受理回执号): ``RA`` + accept date ``yyyymmdd`` (Asia/Shanghai) + 6 characters
  of Crockford base32 (no I, L, O, U: read aloud at the window without confusion) taken from
  SHA-256 of the case id, e.g. ``RA20260921K3W9ZD``. About 10^9 suffixes per day.
- verification code (查询验证码): the shared rule `contracts.verification` (notify derives
  the same code with the same secret when it sends the receipt; no event carries it).
"""

from __future__ import annotations

import hashlib
from datetime import date

from contracts.verification import verification_code, verify

RECEIPT_PREFIX = "RA"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def receipt_number(case_id: str, accepted_on: date) -> str:
    digest = hashlib.sha256(case_id.encode()).digest()
    n = int.from_bytes(digest[:4], "big")
    suffix = "".join(_CROCKFORD[(n >> (5 * i)) & 31] for i in reversed(range(6)))
    return f"{RECEIPT_PREFIX}{accepted_on:%Y%m%d}{suffix}"


__all__ = ["RECEIPT_PREFIX", "receipt_number", "verification_code", "verify"]
