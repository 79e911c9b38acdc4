"""Leaf construction: canonical bytes, personal fields salt-hashed anywhere, rejected records."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import orjson
import pytest

from audit.log.leaf import ColumnSpec, LeafBuilder, Redactor, facets, keyed_hash, search_tokens
from eventkit.envelope import Actor, Envelope, Producer
from tlog.hashing import leaf_hash

pytestmark = pytest.mark.unit

PERSONAL = ["name", "id_number", "phone", "address", "household_no"]


def env(payload: dict) -> Envelope:  # type: ignore[type-arg]
    return Envelope(
        event_type="intake.application_submitted",
        stream_id="case-1",
        occurred_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        producer=Producer(service="intake", instance="i"),
        actor=Actor(id="agent-1", role="community_agent"),
        payload=payload,
    )


def builder(salt: bytes = b"S" * 16, hmac_key: bytes | None = b"k") -> LeafBuilder:
    return LeafBuilder(
        Redactor(PERSONAL, ["id_number", "household_no"], hmac_key, salt_source=lambda n: salt)
    )


def test_personal_values_are_salted_hashes_at_any_depth() -> None:
    payload = {
        "applicant": {"name": "张三", "id_number": "33038119900101123x", "tags": ["a"]},
        "family": [{"name": "李四", "phone": "139"}, {"relation": "child", "name": None}],
        "address": {"street": "育才路", "no": 1},
        "case_id": "case-1",
    }
    e = env(payload)
    rec = builder().from_record("intake.events", 0, 7, e.canonical())
    assert rec.status == "accepted" and rec.event_id == e.event_id
    assert rec.leaf_hash == leaf_hash(rec.leaf)
    doc = orjson.loads(rec.leaf)
    salt = b"S" * 16
    assert (
        doc["payload"]["applicant"]["name"]
        == "sha256:" + hashlib.sha256(salt + "张三".encode()).hexdigest()
    )
    assert (
        doc["payload"]["family"][0]["phone"]
        == "sha256:" + hashlib.sha256(salt + b"139").hexdigest()
    )
    assert doc["payload"]["family"][1]["name"] is None  # null stays null
    addr = orjson.dumps({"street": "育才路", "no": 1}, option=orjson.OPT_SORT_KEYS)
    assert doc["payload"]["address"] == "sha256:" + hashlib.sha256(salt + addr).hexdigest()
    assert doc["payload"]["applicant"]["tags"] == ["a"]
    assert rec.personal is not None and rec.personal.salt == salt
    assert rec.personal.fields == {
        "/payload/applicant/name": "张三",
        "/payload/applicant/id_number": "33038119900101123x",
        "/payload/family/0/name": "李四",
        "/payload/family/0/phone": "139",
        "/payload/address": {"street": "育才路", "no": 1},
    }
    # keyed hashes: normalized (X check digit upper-case, spaces dropped)
    assert rec.personal.keyed == {
        "/payload/applicant/id_number": keyed_hash(b"k", "33038119900101123X ")
    }
    # the leaf is canonical: sorted keys, no whitespace, same for the same salt
    assert rec.leaf == orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    assert builder().from_record("x.events", 1, 1, e.canonical()).leaf == rec.leaf
    # a different salt gives a different leaf: the hash cannot be linked across events
    assert builder(b"T" * 16).from_record("x.events", 1, 1, e.canonical()).leaf != rec.leaf


def test_no_personal_data_no_salt_and_the_leaf_is_the_canonical_envelope() -> None:
    e = env({"case_id": "case-1", "fee_paid_fen": 0, "reason": "材料齐全"})
    rec = builder().from_record("intake.events", 0, 1, e.canonical())
    assert rec.personal is None
    assert rec.leaf == orjson.dumps(e.to_json_dict(), option=orjson.OPT_SORT_KEYS)
    fa = facets(rec.leaf, ColumnSpec())
    assert (fa.reason_text, fa.reason_tokens) == ("材料齐全", "材料 料齐 齐全")
    assert fa.staff_ids == ["agent-1"] and fa.item_code is None
    rej = facets(builder().from_record("t", 0, 1, b"nope").leaf, ColumnSpec())
    assert rej.reason_text is not None and rej.reason_text.startswith("malformed JSON")


def test_rejected_records_keep_the_raw_bytes_and_the_reason() -> None:
    b = builder()
    rec = b.from_record("intake.events", 2, 9, b"\xff not json")
    doc = orjson.loads(rec.leaf)
    assert rec.status == "rejected" and rec.event_id is None
    assert set(doc) == {"rejected", "reason", "topic", "partition", "offset", "raw_b64"}
    assert (doc["topic"], doc["partition"], doc["offset"]) == ("intake.events", 2, 9)
    assert base64.b64decode(doc["raw_b64"]) == b"\xff not json"
    assert doc["reason"].startswith("malformed JSON")
    # personal data inside a rejected JSON message is hashed too
    raw = orjson.dumps({"event_type": "BAD TYPE", "payload": {"name": "张三", "x": 1.5}})
    rec = b.from_record("intake.events", 0, 3, raw)
    doc = orjson.loads(rec.leaf)
    assert doc["raw_redacted"] is True and "张三".encode() not in rec.leaf
    assert "张三".encode() not in base64.b64decode(doc["raw_b64"])
    assert rec.personal is not None and rec.personal.fields == {"/payload/name": "张三"}


def test_search_tokens() -> None:
    assert search_tokens("材料不全, Fee WRONG!") == ["材料", "料不", "不全", "fee", "wrong"]
    assert search_tokens("慢") == ["慢"]
    assert search_tokens("...") == []


def test_a_poison_message_never_raises() -> None:
    deep = b'{"event_type": "x.y", "payload": ' + b'{"a": ' * 900 + b"1" + b"}" * 901
    rec = builder().from_record("intake.events", 0, 1, deep)
    assert rec.status == "rejected"
    doc = orjson.loads(rec.leaf)
    assert doc["rejected"] is True and doc["reason"]
