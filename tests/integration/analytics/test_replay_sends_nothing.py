"""A replay never reaches a resident: history fed back to a live notify (with real SMS-file,
SMTP and webhook channels) through `bianmin replay republish` is recorded and suppressed,
while the same kind of events published normally ARE sent — so the check fails if the
replay path ever stops marking its records. The analytics replay of the same topics sends
nothing either (it only reads)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest

from analytics.progress import Progress
from analytics.republish import republish
from bianmin_tools.simulate import GeneratorConfig, generate
from bianmin_tools.simulate.case import generated_key
from contracts.intake import SealedApplicant, open_applicant
from eventkit.envelope import Envelope

from ..eventkit_consumer.support import wait_all_committed
from ..notify.receivers import SmtpReceiver, WebhookReceiver
from ..notify.support import running_notify, wait_status
from .support import bianmin, to_kafka

pytestmark = pytest.mark.integration

# notify's test clock stands at 2026-03-02 10:00 (a Monday): a history of that day is news,
# not stale history, so notify WOULD send it without the replay mark
DAY = GeneratorConfig(start=date(2026, 3, 2), end=date(2026, 3, 2), scale=0.06, seed=11)


async def test_republished_history_is_recorded_but_never_sent(
    infra,
    pg_schema,
    topics,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    history = generate(DAY)
    resident_events = {"intake.application_accepted", "intake.materials_missing_notified"}
    cases = sorted({e.stream_id for e in history.events if e.event_type in resident_events})
    assert len(cases) > 5
    assert any(e.service == "notify" for e in history.events)  # it holds notify's outcomes too
    control, replayed = cases[0], set(cases[1:])
    source = await topics("hist_intake", "hist_routing", "hist_notify")
    await to_kafka(infra.bootstrap, history, source)
    async with (
        SmtpReceiver() as smtp,
        WebhookReceiver() as hooks,
        running_notify(
            infra,
            pg_schema,
            topics,
            tmp_path,
            smtp_port=smtp.port,
            webhook_base=hooks.url(""),
        ) as n,
    ):
        # the control: one case published the ordinary way is delivered over real channels
        # (its applicant in the clear, as an event written before sealing: the generator's
        # keys are kept by no intake, so no notify could open the sealed contact; the test
        # re-derives it, issue 15)
        control_events = [
            _unsealed(Envelope.model_validate(e.envelope), DAY.seed)
            for e in history.events
            if e.stream_id == control and e.service == "intake"
        ]
        await n.publish(control_events)
        await wait_status(n, control, {"delivered": 1})
        sent_sms, sent_hooks, sent_mail = len(n.sms_lines()), len(hooks.requests), len(smtp.mails)
        assert sent_sms >= 1
        # the replay: the whole history, through the replay tool, onto notify's live topics
        with Progress(quiet=True) as progress:
            a = await republish(infra.bootstrap, (source[0],), n.intake_topic, progress=progress)
            b = await republish(infra.bootstrap, (source[1],), n.routing_topic, progress=progress)
        assert a + b == len(history.of("intake")) + len(history.of("routing"))
        for case in sorted(replayed)[:8]:
            rows = await wait_status(n, case, {"suppressed": 1})
            assert {r["suppressed_reason"] for r in rows if r["status"] == "suppressed"} == {
                "replay"
            }

        # notify consumed every republished record (the control's were consumed before)
        for topic in (n.intake_topic, n.routing_topic):
            await wait_all_committed(infra.bootstrap, n.settings.consumer_group, topic)
        assert await n.processed() >= a + b
        rows = await n.pool.fetch(
            "SELECT case_id, status FROM deliveries WHERE case_id = ANY($1::text[])",
            sorted(replayed),
        )
        assert rows and {r["status"] for r in rows} == {"suppressed"}
        # nothing went out over any channel for the replayed cases
        assert len(n.sms_lines()) == sent_sms
        assert len(hooks.requests) == sent_hooks
        assert len(smtp.mails) == sent_mail
        assert all(ln.get("case_id") in (None, control) for ln in n.sms_lines())
        # and the analytics replay of notify's own topics only reads
        before = await n.pool.fetchval("SELECT count(*) FROM deliveries")
        r = await asyncio.to_thread(
            bianmin,
            "replay",
            "analytics",
            "--bootstrap",
            infra.bootstrap,
            "--topic",
            f"{n.intake_topic},{n.routing_topic}",
            "--db",
            str(tmp_path / "a.duckdb"),
            "-q",
        )
        assert r.returncode == 0, r.stderr
        # had it written anything to notify's topics, notify would have consumed it by now
        for topic in (n.intake_topic, n.routing_topic):
            await wait_all_committed(infra.bootstrap, n.settings.consumer_group, topic)
        assert await n.pool.fetchval("SELECT count(*) FROM deliveries") == before
        assert len(n.sms_lines()) == sent_sms and len(hooks.requests) == sent_hooks


def _unsealed(env: Envelope, seed: int) -> Envelope:
    """A generated submission with its applicant opened (as written before sealing)."""
    a = env.payload.get("applicant")
    if env.event_type != "intake.application_submitted" or not isinstance(a, dict):
        return env
    key, _ = generated_key(seed, env.stream_id)
    plain = open_applicant(key, env.stream_id, SealedApplicant.model_validate(a))
    return env.model_copy(update={"payload": {**env.payload, "applicant": plain.model_dump()}})
