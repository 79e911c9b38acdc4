"""The Kafka ACL table (contracts.kafka_acl) is what docs/KAFKA_ACL.md says, and it follows
the topic ownership of contracts.topics: each service writes only its own topic (and the
`.dlq` of what it consumes), reads only what it consumes, and nobody may create, delete or
alter anything (those are the super user's alone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts import topics as t
from contracts.kafka_acl import ADMIN_USER, acls, render_markdown, users

pytestmark = pytest.mark.unit

DOC = Path(__file__).resolve().parents[2] / "docs" / "KAFKA_ACL.md"


def test_the_doc_is_generated_from_the_table() -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(), (
        "docs/KAFKA_ACL.md is stale: run `python -m contracts.kafka_acl > docs/KAFKA_ACL.md`"
    )


def test_each_service_writes_only_its_own_topic_and_the_dlq_of_what_it_consumes() -> None:
    for svc in t.SERVICES:
        writes = {a.name for a in acls() if a.principal == svc and a.operation == "WRITE"}
        own = {topic for topic, owner in t.PRODUCER_OF.items() if owner == svc}
        dlqs = {t.dlq(topic) for topic, cs in t.CONSUMERS_OF.items() if svc in cs}
        assert writes == own | dlqs, svc


def test_reads_follow_the_consumers_table_and_nobody_administers() -> None:
    for svc in t.SERVICES:
        reads = {
            a.name
            for a in acls()
            if a.principal == svc and a.operation == "READ" and a.resource == "TOPIC"
        }
        wanted = (
            set(t.AUDIT_READS)
            if svc == t.AUDIT
            else {topic for topic, cs in t.CONSUMERS_OF.items() if svc in cs}
        )
        assert reads == wanted, svc
    assert {a.operation for a in acls()} <= {"READ", "WRITE", "DESCRIBE"}
    assert ADMIN_USER not in {a.principal for a in acls()}  # a super user needs no ACLs
    assert set(users()) == {ADMIN_USER, *t.SERVICES}


def test_renamed_topics_keep_the_same_rules() -> None:
    names = {topic: f"x_{topic}" for topic in t.EVENT_TOPICS}
    renamed = acls(names, {"intake": "g-intake"})
    assert len(renamed) == len(acls())
    assert ("intake", "TOPIC", "x_routing.events.dlq", "WRITE") in {
        (a.principal, a.resource, a.name, a.operation) for a in renamed
    }
    assert ("intake", "GROUP", "g-intake", "READ") in {
        (a.principal, a.resource, a.name, a.operation) for a in renamed
    }
