"""What one Kafka record becomes in the log: the leaf bytes and the columns beside them. Pure.

Accepted events
    The leaf is the canonical JSON (sorted keys, UTF-8, no whitespace, no floats: see
    `eventkit.envelope.canonical_json`) of the validated envelope, with every *personal* value
    in the payload replaced by ``"sha256:" + hex(SHA-256(salt || value))``. A personal value is
    the value of any payload key named in the configured list (default: name, id_number,
    phone, address, household_no), at any depth, in objects and lists. `value` is the UTF-8 of
    a string, else its canonical JSON. The salt is 16 random bytes per event; the salt and the
    original values (keyed by JSON pointer, RFC 6901) go to `personal_data` beside the leaf.
    Erasing that row (PIPL) leaves the leaf, and so the tree, unchanged; without the salt the
    hashes can no longer be linked to anyone (a bare SHA-256 of an ID number could be found by
    trying every number, a salted one cannot).

    For rules that must compare personal values (same ID number or household number), the
    configured *keyed* fields are also stored as HMAC-SHA256(server secret, normalized value)
    in `personal_data.keyed` (never in the leaf), erased together with the rest.

Rejected records
    A record that is not an envelope (not UTF-8 JSON, an invalid envelope, floats) and every
    record of a `.dlq` topic (a consumer gave up on it: that is evidence too) becomes the
    canonical JSON of ``{"rejected": true, "reason", "topic", "partition", "offset",
    "raw_b64"}``. If the raw value is JSON holding personal keys, those are salt-hashed first
    and ``"raw_redacted": true`` is added (raw_b64 is then base64 of the redacted JSON), so
    personal data never enters the tree even through a rejected message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from eventkit.envelope import Envelope, canonical_json
from tlog.hashing import leaf_hash

SALT_BYTES = 16
MAX_REASON = 1000

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class ColumnSpec:
    """Which payload keys feed the query columns. Data, so it can follow the contracts.

    Field names assumed (contracts/intake.py, contracts/routing.py as of this writing):
    item: ``item_code`` (case events) or ``item.code`` (catalog events); staff: the keys in
    `staff_keys` anywhere at the payload's top level; reasons: `reason_keys` at any depth.
    """

    item_paths: tuple[tuple[str, ...], ...] = (("item_code",), ("item", "code"), ("code",))
    staff_keys: frozenset[str] = frozenset(
        {
            "accepting_staff_id",
            "assigned_to",
            "to_officer",
            "from_officer",
            "decided_by",
            "agent_id",
            "carried_by",
            "escalated_to",
            "a_holder",
            "b_holder",
            "answered_by",
            "delivered_by",
            "archived_by",
            "accepted_by",
            "submitted_by",
            "recorded_by",
            "requested_by",
            "officer_id",
            "staff_id",
            "notified_by",
        }
    )
    reason_keys: frozenset[str] = frozenset({"reason", "comment", "note", "answer"})


@dataclass(frozen=True)
class PersonalData:
    salt: bytes
    fields: dict[str, Any]
    keyed: dict[str, str]


@dataclass(slots=True)
class LeafRecord:
    """One leaf and the row columns beside it (nothing here is hashed except `leaf`)."""

    leaf: bytes
    leaf_hash: bytes
    status: str
    topic: str
    partition: int
    offset: int
    event_id: uuid.UUID | None = None
    reject_reason: str | None = None
    event_type: str | None = None
    stream_id: str | None = None
    correlation_id: uuid.UUID | None = None
    occurred_at: datetime | None = None
    actor_id: str | None = None
    org_id: str | None = None
    tier: str | None = None
    personal: PersonalData | None = None
    envelope: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    """The redacted envelope as a dict (what the leaf encodes), for accepted records."""
    raw_payload: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    """The payload before redaction (kept in memory only, to compare duplicates)."""


def _token(p: str | int) -> str:
    """One reference token of an RFC 6901 JSON pointer."""
    p = str(p)
    if "~" in p or "/" in p:
        p = p.replace("~", "~0").replace("/", "~1")
    return p


def _pointer(parts: Sequence[str | int]) -> str:
    """RFC 6901 JSON pointer."""
    return "".join("/" + _token(p) for p in parts)


def _value_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def salted_hash(salt: bytes, value: Any) -> str:
    return "sha256:" + hashlib.sha256(salt + _value_bytes(value)).hexdigest()


def normalize_keyed(value: Any) -> bytes:
    """ID and household numbers compare case- and space-insensitively (X check digit)."""
    if isinstance(value, str):  # str.split() and re's \s agree on what whitespace is
        return "".join(value.split()).upper().encode("utf-8")
    return _value_bytes(value)


def keyed_hash(key: bytes, value: Any) -> str:
    return hmac.digest(key, normalize_keyed(value), "sha256").hex()


class Redactor:
    """Replaces personal values with salted hashes, collecting the originals."""

    def __init__(
        self,
        personal_keys: Iterable[str],
        keyed_keys: Iterable[str] = (),
        hmac_key: bytes | None = None,
        salt_source: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.personal_keys = frozenset(personal_keys)
        self.keyed_keys = frozenset(keyed_keys) & self.personal_keys
        self.hmac_key = hmac_key
        self.salt_source = salt_source

    def redact(
        self,
        obj: Any,
        base: Sequence[str | int] = (),
        strict: bool = True,
    ) -> tuple[Any, PersonalData | None]:
        """A redacted deep copy of `obj` and the personal data taken out (None if none).

        With `strict`, raises ValueError on a float anywhere (canonical JSON has none).

        Most events carry no personal value: a strict call first only *looks* (`_scan`, no
        copying, no pointers) and returns `obj` itself when there is nothing to take out.
        """
        if strict and not _scan(obj, self.personal_keys):
            return obj, None
        found: dict[str, Any] = {}
        keyed: dict[str, str] = {}
        salt = b""
        personal = self.personal_keys

        def walk(node: Any, path: str) -> Any:
            nonlocal salt
            if isinstance(node, dict):
                out = {}
                for k, v in node.items():
                    if k in personal and v is not None:
                        if not salt:
                            salt = self.salt_source(SALT_BYTES)
                        ptr = path + "/" + _token(k)
                        found[ptr] = v
                        if k in self.keyed_keys and self.hmac_key is not None:
                            keyed[ptr] = keyed_hash(self.hmac_key, v)
                        out[k] = salted_hash(salt, v)
                    elif isinstance(v, dict | list):
                        out[k] = walk(v, path + "/" + _token(k))
                    elif isinstance(v, float) and strict:
                        raise ValueError("floats are not allowed in canonical JSON")
                    else:
                        out[k] = v
                return out
            if isinstance(node, list):
                res = []
                for i, v in enumerate(node):
                    if isinstance(v, dict | list):
                        res.append(walk(v, f"{path}/{i}"))
                    elif isinstance(v, float) and strict:
                        raise ValueError("floats are not allowed in canonical JSON")
                    else:
                        res.append(v)
                return res
            if isinstance(node, float) and strict:
                raise ValueError("floats are not allowed in canonical JSON")
            return node

        redacted = walk(obj, _pointer(base))
        return redacted, (PersonalData(salt, found, keyed) if found else None)


def _scan(node: Any, personal: frozenset[str]) -> bool:
    """Whether `Redactor.redact(node, strict=True)` would take a value out; raises its
    ValueError on a float it would meet. A float inside a personal value is hashed there,
    not refused: the scan answers True on reaching the personal key, before looking in."""
    if isinstance(node, dict):
        if not personal.isdisjoint(node) and any(
            node[k] is not None for k in personal.intersection(node)
        ):
            return True
        children: Iterable[Any] = node.values()
    elif isinstance(node, list):
        children = node
    elif isinstance(node, float):
        raise ValueError("floats are not allowed in canonical JSON")
    else:
        return False
    for v in children:
        if isinstance(v, dict | list):
            if _scan(v, personal):
                return True
        elif isinstance(v, float):
            raise ValueError("floats are not allowed in canonical JSON")
    return False


_TOKEN = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|([0-9A-Za-z_]+)")


def search_tokens(text: str) -> list[str]:
    """Tokens for the reason search: Chinese runs as overlapping bigrams (single characters
    alone), other words lower-cased. The same function tokenizes the inspector's query."""
    tokens: list[str] = []
    for cjk, word in _TOKEN.findall(text):
        if cjk:
            if len(cjk) == 1:
                tokens.append(cjk)
            else:
                tokens.extend([cjk[i : i + 2] for i in range(len(cjk) - 1)])
        else:
            tokens.append(word.lower())
    return tokens


def encode(doc: Mapping[str, Any]) -> bytes:
    """The canonical leaf encoding of an envelope dump (python or JSON mode): sorted keys,
    UTF-8, no whitespace, UTC datetimes with a Z, exactly as `Envelope.canonical()`. The
    payload must already be float-free (the redaction walk checks)."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)


def _get_path(obj: Mapping[str, Any], path: Sequence[str]) -> Any:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _header(headers: Sequence[tuple[str, bytes | None]] | None, name: str) -> str | None:
    for k, v in headers or ():
        if k == name and v is not None:
            return bytes(v).decode("utf-8", "replace")
    return None


def _validation_reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:10]:
        loc = ".".join(str(x) for x in err.get("loc", ())) or "envelope"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "invalid envelope: " + "; ".join(parts)


class LeafBuilder:
    """Turns Kafka records into `LeafRecord`s (pure apart from the salt source)."""

    def __init__(self, redactor: Redactor, columns: ColumnSpec | None = None) -> None:
        self.redactor = redactor
        self.columns = columns or ColumnSpec()

    # -- accepted --------------------------------------------------------------------------------
    def from_record(
        self,
        topic: str,
        partition: int,
        offset: int,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes | None]] | None = None,
    ) -> LeafRecord:
        """Never raises on bad data: whatever cannot be processed becomes a rejected leaf
        (a poison message must not stop the log)."""
        try:
            return self._from_record(topic, partition, offset, value, headers)
        except Exception as exc:  # e.g. RecursionError on absurdly deep JSON
            return self.rejected(
                topic, partition, offset, value, f"unprocessable: {type(exc).__name__}: {exc}"
            )

    def _from_record(
        self,
        topic: str,
        partition: int,
        offset: int,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes | None]] | None = None,
    ) -> LeafRecord:
        if topic.endswith(DLQ_SUFFIX):
            reason = "dead-lettered"
            consumer = _header(headers, "dlq.consumer")
            why = _header(headers, "dlq.reason")
            err = _header(headers, "dlq.error")
            if consumer:
                reason += f" by {consumer}"
            if why:
                reason += f": {why}"
            if err:
                reason += f": {err}"
            return self.rejected(topic, partition, offset, value, reason)
        if value is None:
            return self.rejected(topic, partition, offset, value, "empty record (no value)")
        try:
            env = Envelope.model_validate_json(value)
        except ValidationError as exc:
            first: Mapping[str, Any] = exc.errors()[0] if exc.error_count() else {}
            if first.get("type") == "json_invalid":
                reason = f"malformed JSON: {first.get('ctx', {}).get('error', first.get('msg'))}"
            elif first.get("type") == "model_type" and not first.get("loc"):
                reason = "not a JSON object"
            else:
                reason = _validation_reason(exc)
            return self.rejected(topic, partition, offset, value, reason)
        doc = env.model_dump()
        raw_payload = doc["payload"]
        try:
            payload, personal = self.redactor.redact(raw_payload, ("payload",))
        except ValueError as exc:
            return self.rejected(topic, partition, offset, value, f"not canonical: {exc}")
        doc["payload"] = payload
        leaf = encode(doc)
        rec = self._accepted(topic, partition, offset, env, doc, leaf, personal)
        rec.raw_payload = raw_payload
        return rec

    def _accepted(
        self,
        topic: str,
        partition: int,
        offset: int,
        env: Envelope,
        doc: dict[str, Any],
        leaf: bytes,
        personal: PersonalData | None,
    ) -> LeafRecord:
        payload = doc["payload"]
        return LeafRecord(
            leaf=leaf,
            leaf_hash=leaf_hash(leaf),
            status="accepted",
            topic=topic,
            partition=partition,
            offset=offset,
            event_id=env.event_id,
            event_type=env.event_type,
            stream_id=env.stream_id,
            correlation_id=env.correlation_id,
            occurred_at=env.occurred_at,
            actor_id=env.actor.id,
            org_id=env.org_id or _str(payload.get("org_id")),
            tier=env.tier or _str(payload.get("tier")),
            personal=personal,
            envelope=doc,
        )

    # -- rejected --------------------------------------------------------------------------------
    def rejected(
        self, topic: str, partition: int, offset: int, value: bytes | None, reason: str
    ) -> LeafRecord:
        reason = reason[:MAX_REASON]
        raw = value or b""
        personal = None
        redacted_flag = False
        try:
            parsed = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = None
        withheld = False
        if isinstance(parsed, dict | list):
            try:
                redacted, personal = self.redactor.redact(parsed, strict=False)
                if personal is not None:
                    raw = orjson.dumps(redacted, option=orjson.OPT_SORT_KEYS)
                    redacted_flag = True
            except Exception:  # cannot be redacted: keep only its hash out of caution
                withheld = True
        doc: dict[str, Any] = {
            "rejected": True,
            "reason": reason,
            "topic": topic,
            "partition": partition,
            "offset": offset,
        }
        if withheld:
            doc["raw_sha256"] = hashlib.sha256(raw).hexdigest()
            doc["raw_withheld"] = "could not be checked for personal data"
        else:
            doc["raw_b64"] = base64.b64encode(raw).decode("ascii")
        if redacted_flag:
            doc["raw_redacted"] = True
        leaf = canonical_json(doc)
        event_type = parsed.get("event_type") if isinstance(parsed, dict) else None
        stream_id = parsed.get("stream_id") if isinstance(parsed, dict) else None
        return LeafRecord(
            leaf=leaf,
            leaf_hash=leaf_hash(leaf),
            status="rejected",
            topic=topic,
            partition=partition,
            offset=offset,
            reject_reason=reason,
            event_type=event_type if isinstance(event_type, str) else None,
            stream_id=stream_id if isinstance(stream_id, str) else None,
            personal=personal,
        )

    def conflicting_duplicate(self, rec: LeafRecord, existing_index: int) -> LeafRecord:
        """A record whose event_id is already logged with different content: kept as evidence."""
        reason = (
            f"conflicting duplicate: event_id {rec.event_id} is already leaf {existing_index} "
            "with different content"
        )
        assert rec.envelope is not None
        doc = {
            "rejected": True,
            "reason": reason,
            "topic": rec.topic,
            "partition": rec.partition,
            "offset": rec.offset,
            "raw_b64": base64.b64encode(rec.leaf).decode("ascii"),
            "raw_redacted": rec.personal is not None,
        }
        leaf = canonical_json(doc)
        return LeafRecord(
            leaf=leaf,
            leaf_hash=leaf_hash(leaf),
            status="rejected",
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            reject_reason=reason,
            event_type=rec.event_type,
            stream_id=rec.stream_id,
            personal=rec.personal,
        )

    def releaf(self, rec: LeafRecord, salt: bytes | None) -> bytes | None:
        """The leaf `rec` would have had with the stored `salt`, to tell a harmless re-delivery
        of an event from a conflicting one. None when it cannot be told (no envelope, or the
        stored personal data was erased)."""
        if rec.envelope is None:
            return None
        if rec.personal is None:
            return rec.leaf
        if salt is None:
            return None
        redactor = Redactor(self.redactor.personal_keys, (), None, salt_source=lambda n: salt)
        payload, _ = redactor.redact(rec.raw_payload, ("payload",))
        return encode({**rec.envelope, "payload": payload})


@dataclass(frozen=True)
class Facets:
    item_code: str | None
    staff_ids: list[str] | None
    reason_text: str | None
    reason_tokens: str | None


def facets(leaf: bytes, columns: ColumnSpec) -> Facets:
    """What the inspectors filter on beyond the envelope columns, read from a stored leaf:
    the item, the staff named (actor + payload staff fields), the reasons (any depth); for a
    rejected leaf its rejection reason. Computed by the projector, off the append path."""
    try:
        doc = orjson.loads(leaf)
    except orjson.JSONDecodeError:
        return Facets(None, None, None, None)
    if not isinstance(doc, dict):
        return Facets(None, None, None, None)
    if doc.get("rejected") is True:
        reason = _str(doc.get("reason"))
        return Facets(None, None, reason, " ".join(search_tokens(reason)) if reason else None)
    payload = doc.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    item = None
    for path in columns.item_paths:
        v = _get_path(payload, path)
        if isinstance(v, str):
            item = v
            break
    staff: set[str] = set()
    actor = doc.get("actor")
    if isinstance(actor, dict) and isinstance(actor.get("id"), str):
        staff.add(actor["id"])
    for k in columns.staff_keys.intersection(payload):
        v = payload[k]
        if isinstance(v, str) and v:
            staff.add(v)
    reasons: list[str] = []
    _collect_strings(payload, columns.reason_keys, reasons)
    text = "\n".join(reasons) if reasons else None
    return Facets(
        item, sorted(staff) or None, text, " ".join(search_tokens(text)) if text else None
    )


def _collect_strings(obj: Any, keys: frozenset[str], out: list[str]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in keys and isinstance(v, str) and v:
                out.append(v)
            elif isinstance(v, dict | list):
                _collect_strings(v, keys, out)
    elif isinstance(obj, list):
        for v in obj:
            _collect_strings(v, keys, out)
