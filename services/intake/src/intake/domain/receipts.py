"""Receipt numbers and resident verification codes, derived without randomness.

Deciders are pure and may be re-run, so both are functions of the case, never random draws:

- receipt number (受理回执号): ``RA`` + accept date ``yyyymmdd`` (Asia/Shanghai) + 6 characters
  of Crockford base32 (no I, L, O, U: read aloud at the window without confusion) taken from
  SHA-256 of the case id, e.g. ``RA20260921K3W9ZD``. About 10^9 suffixes per day.
- verification code (查询验证码): 6 decimal digits from HMAC-SHA256(secret, case id). With the
  receipt number it opens the resident status view; only the service's secret can produce
  it, so knowing a case id or a receipt number is not enough.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

RECEIPT_PREFIX = "RA"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VERIFY_DOMAIN = b"bianmin.intake.verification-code.v1:"


def receipt_number(case_id: str, accepted_on: date) -> str:
    digest = hashlib.sha256(case_id.encode()).digest()
    n = int.from_bytes(digest[:4], "big")
    suffix = "".join(_CROCKFORD[(n >> (5 * i)) & 31] for i in reversed(range(6)))
    return f"{RECEIPT_PREFIX}{accepted_on:%Y%m%d}{suffix}"


def verification_code(case_id: str, secret: bytes) -> str:
    mac = hmac.new(secret, _VERIFY_DOMAIN + case_id.encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 1_000_000:06d}"


def verify(case_id: str, code: str, secret: bytes) -> bool:
    """Constant-time check of a code a resident typed in."""
    return hmac.compare_digest(verification_code(case_id, secret), code.strip())
