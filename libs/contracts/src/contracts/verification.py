"""The resident's verification code (查询验证码): one rule, derived where it is needed.

Six decimal digits from HMAC-SHA256(secret, case id). With the receipt number it opens the
resident status view, and at another center it confirms a withdrawal as the resident's act.
Only the holders of the secret can produce it, so knowing a case id or a receipt number is
not enough.

The code never travels in an event (issue 18 #5): events are kept for ever on Kafka, in
every store, in the audit log's leaves and in the analytics store, where many people read
them. intake derives it to answer the window and to check it; notify derives it, with the
same secret, at the moment it sends the receipt to the resident. Both call this function.
"""

from __future__ import annotations

import hashlib
import hmac

_VERIFY_DOMAIN = b"bianmin.intake.verification-code.v1:"
MIN_SECRET_BYTES = 16


def verification_code(case_id: str, secret: bytes) -> str:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the verification secret must be at least {MIN_SECRET_BYTES} bytes")
    mac = hmac.new(secret, _VERIFY_DOMAIN + case_id.encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 1_000_000:06d}"


def verify(case_id: str, code: str, secret: bytes) -> bool:
    """Constant-time check of a code a resident typed in."""
    return hmac.compare_digest(verification_code(case_id, secret), code.strip())
