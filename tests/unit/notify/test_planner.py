"""plan(envelope, directory, setup, now): who is told what, over which channels, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from contracts.workdays import SHANGHAI
from eventkit.envelope import Envelope
from notify.domain import (
    CaseInfo,
    ChannelSetup,
    Directory,
    Plan,
    StaffContact,
    applicant_id,
    delivery_id,
    load_templates,
    plan,
)

from . import factories as f

pytestmark = pytest.mark.unit

ALL = ChannelSetup(
    email=True,
    sms=True,
    resident_webhook="https://app.example.cn/hooks/resident",
    staff_webhook="https://work.example.cn/hooks/staff",
)


@dataclass
class Scenario:
    """given (directory, channels, clock) / when (an event) / then (the plan)."""

    cases: dict[str, CaseInfo] = field(default_factory=dict)
    staff: dict[str, StaffContact] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=lambda: {"mabei": "马北社区", "mayu": "马屿镇"})
    setup: ChannelSetup = ALL
    now: datetime = f.T0
    result: Plan | None = None

    def given_applicant(self, case_id: str, *, email: str | None = f.EMAIL) -> Scenario:
        self.cases[case_id] = CaseInfo(
            case_id=case_id,
            applicant_name="张丽",
            phone=f.PHONE,
            email=email,
            item_name_zh="再生育(二胎)申请审批",
            receipt_no="RA20260302K3W9ZD",
            accepting_center_id="mabei",
            material_names={"MARRIAGE_CERT": "结婚证复印件", "HOUSEHOLD_REG": "户口簿复印件"},
        )
        return self

    def given_staff(self, staff_id: str, name: str, **kw: str) -> Scenario:
        self.staff[staff_id] = StaffContact(staff_id=staff_id, name_zh=name, **kw)
        return self

    def given_channels(self, setup: ChannelSetup) -> Scenario:
        self.setup = setup
        return self

    def at(self, local: datetime) -> Scenario:
        self.now = local
        return self

    def when(self, env: Envelope) -> Scenario:
        self.result = plan(env, Directory(self.cases, self.staff, self.units), self.setup, self.now)
        return self

    @property
    def plan(self) -> Plan:
        assert self.result is not None
        return self.result

    def by_channel(self) -> dict[str, object]:
        return {i.channel: i for i in self.plan.intents}

    def told(self) -> list[str]:
        """The recipients, in plan order, each once."""
        return list(dict.fromkeys(i.recipient_id for i in self.plan.intents))

    def email_to(self, recipient_id: str) -> str:
        """The e-mail body `recipient_id` gets."""
        (mail,) = (
            i for i in self.plan.intents if i.recipient_id == recipient_id and i.channel == "email"
        )
        return mail.body

    def given_the_post(self) -> Scenario:
        """马屿镇计生办's post: 李伟 holds A, 陈明 B; 王芳 heads 马屿镇, 陈美芳 the city center.
        Each with a work phone and e-mail (as the seed now gives every staff member)."""
        for sid, name in (
            ("officer.a", "李伟"),
            ("officer.b", "陈明"),
            ("head.mayu", "王芳"),
            ("head.ruian", "陈美芳"),
        ):
            self.given_staff(sid, name, email=f"{sid}@x.cn", phone="13900001111")
        self.units = {**self.units, "ruian": "瑞安市行政审批服务中心"}
        return self


def given() -> Scenario:
    return Scenario()


def test_an_accepted_application_gives_one_receipt_per_channel() -> None:
    case = f.new_case_id()
    env = f.accepted(case)
    s = given().given_applicant(case).when(env)
    intents = s.plan.intents
    assert [i.channel for i in intents] == ["sms", "email", "webhook"]
    assert {i.template for i in intents} == {"resident_receipt"}
    assert {i.recipient_id for i in intents} == {applicant_id(case)}
    assert [i.address for i in intents] == [f.PHONE, f.EMAIL, ALL.resident_webhook]
    for i in intents:
        assert "您的申请（受理编号 RA20260302K3W9ZD）已受理，承诺办结日期 2026年3月23日。" in i.body
        assert i.delivery_id == delivery_id(env.event_id, applicant_id(case), i.channel)
        assert i.due_at == f.T0 and not i.deferred
    assert intents[0].body.startswith("【瑞安便民服务】")  # SMS signature
    assert "\n" not in intents[0].body
    assert intents[1].subject == "【受理通知】再生育(二胎)申请审批（受理编号 RA20260302K3W9ZD）"


def test_planning_is_deterministic_so_a_replan_collides_with_the_first_rows() -> None:
    case = f.new_case_id()
    env = f.accepted(case)
    first = given().given_applicant(case).when(env).plan
    again = given().given_applicant(case).when(env).plan
    assert first == again
    assert len({i.delivery_id for i in first.intents}) == 3


def test_the_one_time_notice_lists_all_three_missing_materials_in_one_message() -> None:
    case = f.new_case_id()
    s = given().given_applicant(case).when(f.missing_notified(case))
    by = s.by_channel()
    assert len(s.plan.intents) == 3
    for i in s.plan.intents:
        assert i.template == "resident_missing_materials"
        assert "尚缺以下3项材料" in i.body
        for name in ("再生育申请审批表", "结婚证复印件", "夫妻双方一寸近期免冠照片"):
            assert i.body.count(name) == 1
    email = by["email"]
    assert "\n1. 再生育申请审批表（原件1份）\n2. 结婚证复印件（复印件1份）\n3. " in email.body
    assert "1.再生育申请审批表（原件1份）；2.结婚证复印件（复印件1份）；3." in by["sms"].body
    assert email.subject == "【一次性告知】再生育(二胎)申请审批申请尚缺3项材料"


def test_an_original_required_gap_says_so() -> None:
    case = f.new_case_id()
    missing = (f.MISSING_THREE[0].model_copy(update={"reason": "original_required"}),)
    s = given().given_applicant(case).when(f.missing_notified(case, missing))
    assert "（原件1份，须提供原件）" in s.plan.intents[0].body


def test_a_copies_shortfall_names_what_was_given_and_what_is_still_owed() -> None:
    case = f.new_case_id()
    short = f.MISSING_THREE[2].model_copy(update={"reason": "too_few_copies", "copies_provided": 1})
    s = given().given_applicant(case).when(f.missing_notified(case, (short,)))
    assert "夫妻双方一寸近期免冠照片（原件2份，已交1份，还差1份）" in s.plan.intents[0].body


def test_resident_messages_wait_until_the_applicant_is_known() -> None:
    case = f.new_case_id()
    s = given().when(f.accepted(case))
    assert s.plan == Plan(waiting_for=f"case:{case}")


def test_staff_messages_wait_until_the_staff_member_is_known() -> None:
    case = f.new_case_id()
    s = given().when(f.case_assigned(case, "officer.b", as_role="B", a_reason="off_duty"))
    assert s.plan == Plan(waiting_for="staff:officer.b")


def test_a_b_post_assignment_tells_the_b_holder_why() -> None:
    case = f.new_case_id()
    s = (
        given()
        .given_applicant(case)
        .given_staff("officer.b", "陈明", email="chenming@mayu.gov.cn")
        .when(f.case_assigned(case, "officer.b", as_role="B", a_reason="off_duty"))
    )
    by = s.by_channel()
    assert set(by) == {"email", "webhook"}  # no phone on file: no SMS
    body = by["email"].body
    assert body.startswith("陈明，您好：一件新案件已分派给您（B岗：A岗不在岗）")
    assert "受理编号 RA20260302K3W9ZD" in body
    assert by["webhook"].address == ALL.staff_webhook
    assert by["webhook"].recipient_id == "officer.b"
    assert by["webhook"].recipient_kind == "staff"


def test_quiet_hours_defer_a_residents_sms_to_eight_in_the_morning() -> None:
    case = f.new_case_id()
    night = datetime(2026, 3, 2, 23, 0, tzinfo=SHANGHAI)
    s = given().given_applicant(case).at(night).when(f.accepted(case, at=night))
    by = s.by_channel()
    assert by["sms"].deferred
    assert by["sms"].due_at == datetime(2026, 3, 3, 8, 0, tzinfo=SHANGHAI)
    assert not by["email"].deferred and by["email"].due_at == night
    assert not by["webhook"].deferred


def test_quiet_hours_do_not_hold_staff_sms() -> None:
    case = f.new_case_id()
    night = datetime(2026, 3, 2, 23, 0, tzinfo=SHANGHAI)
    s = (
        given()
        .given_staff("officer.a", "李伟", phone="13900001111")
        .at(night)
        .when(f.case_overdue(case, "officer.a", at=night))
    )
    sms: Any = s.by_channel()["sms"]
    assert not sms.deferred and sms.due_at == night


def test_only_configured_channels_and_known_addresses_are_used() -> None:
    case = f.new_case_id()
    s = (
        given()
        .given_applicant(case, email=None)
        .given_channels(ChannelSetup(email=True, sms=True))
        .when(f.accepted(case))
    )
    assert [i.channel for i in s.plan.intents] == ["sms"]
    s = given().given_applicant(case).given_channels(ChannelSetup()).when(f.accepted(case))
    assert s.plan == Plan()


@pytest.mark.parametrize(
    "env",
    [
        f.submitted("case-x"),
        f.case_routed("case-x"),
        f.result_returned("case-x", final=False),
        f.unit_registered(),
        f.staff_registered("officer.a", "李伟"),
    ],
    ids=lambda e: e.event_type,
)
def test_events_that_notify_nobody_plan_nothing(env: Envelope) -> None:
    assert given().given_applicant("case-x").when(env).plan == Plan()


def test_a_correction_request_names_the_materials_and_the_pause() -> None:
    case = f.new_case_id()
    s = given().given_applicant(case).when(f.correction_requested(case))
    body = s.by_channel()["email"].body
    assert (
        "需补正以下2项材料：\n1. 结婚证复印件\n2. 户口簿复印件\n说明：结婚证复印件不清晰。\n请将"
    ) in body
    assert "补正期间办理时限暂停计算" in body


def test_the_correction_sms_reads_as_sentences_with_the_officers_note_set_off() -> None:
    """Issue 13 #10: the note ran into the list and into the next sentence ("…户口簿复印件说明：
    结婚证复印件不清晰请将…"). Now: the list, the note as its own sentence, then the rest."""
    case = f.new_case_id()
    sms = given().given_applicant(case).when(f.correction_requested(case)).by_channel()["sms"]
    assert (
        "需补正以下2项材料：1.结婚证复印件；2.户口簿复印件。说明：结婚证复印件不清晰。"
        "请将补正材料交到任一便民服务中心。"
    ) in sms.body


@pytest.mark.parametrize(
    ("note", "sentence"),
    [
        ("结婚证复印件不清晰，请重新提供", "说明：结婚证复印件不清晰，请重新提供。"),
        ("结婚证复印件不清晰。", "说明：结婚证复印件不清晰。"),
        ("请携带原件核对！", "说明：请携带原件核对！"),
        ("照片须为近期免冠照片；", "说明：照片须为近期免冠照片。"),
        ("  照片模糊  ", "说明：照片模糊。"),
    ],
    ids=["comma-inside", "full-stop", "exclamation", "semicolon", "spaces"],
)
def test_the_officers_note_ends_as_one_sentence_whatever_punctuation_it_came_with(
    note: str, sentence: str
) -> None:
    case = f.new_case_id()
    env = f.correction_requested(case)
    env = env.model_copy(update={"payload": {**env.payload, "note": note}})
    sms = given().given_applicant(case).when(env).by_channel()["sms"]
    assert "2.户口簿复印件。" + sentence + "请将补正材料" in sms.body


@pytest.mark.parametrize("note", [None, "", "   "], ids=["none", "empty", "blank"])
def test_a_correction_without_a_note_has_no_note_sentence(note: str | None) -> None:
    case = f.new_case_id()
    env = f.correction_requested(case)
    env = env.model_copy(update={"payload": {**env.payload, "note": note}})
    s = given().given_applicant(case).when(env)
    assert "2.户口簿复印件。请将补正材料交到任一便民服务中心。" in s.by_channel()["sms"].body
    assert "\n2. 户口簿复印件\n请将补正材料" in s.by_channel()["email"].body
    assert "说明" not in s.by_channel()["email"].body


def test_the_result_is_announced_on_the_final_hop_at_the_accepting_center() -> None:
    case = f.new_case_id()
    s = given().given_applicant(case).when(f.result_returned(case))
    body = s.by_channel()["email"].body
    assert "已办结，办理结果：准予办理。" in body and "结果已送达马北社区" in body


def test_an_escalation_names_the_assignee_to_the_head() -> None:
    case = f.new_case_id()
    s = (
        given()
        .given_applicant(case)
        .given_staff("head.mayu", "王芳", email="wangfang@mayu.gov.cn")
        .given_staff("officer.a", "李伟")
        .when(f.case_escalated(case, "head.mayu", "officer.a"))
    )
    body = s.by_channel()["email"].body
    assert body.startswith("王芳，您好：经办人李伟的案件")
    assert "2026年3月23日 17:30" in body and "一级督办" in body


EVERY_NOTIFYING_EVENT = [
    lambda c: f.missing_notified(c),
    lambda c: f.accepted(c),
    lambda c: f.promised_date_revised(c, previous=date(2027, 2, 23), promised=date(2027, 2, 24)),
    lambda c: f.correction_requested(c),
    lambda c: f.result_returned(c),
    lambda c: f.result_delivered(c),
    lambda c: f.case_assigned(c, "s1"),
    lambda c: f.case_reassigned(c, "s1"),
    lambda c: f.deadline_warning(c, "s1"),
    lambda c: f.case_overdue(c, "s1"),
    lambda c: f.case_escalated(c, "s1", "s2"),
    lambda c: f.bad_review(c, "s1"),
    lambda c: f.followup_overdue(c, "s1"),
    lambda c: f.joint_missing_notified(c),
    lambda c: f.joint_result_ready(c),
    lambda c: f.joint_accepted(c),
]


def test_every_template_is_used_and_renders_without_a_missing_placeholder() -> None:
    used = set()
    for make in EVERY_NOTIFYING_EVENT:
        case = f.new_case_id()
        s = (
            given()
            .given_applicant(case)
            .given_staff("s1", "李伟", email="s1@x.cn", phone="13900001111")
            .given_staff("s2", "陈明")
            .when(make(case))
        )
        assert len(s.plan.intents) == 3, make
        for i in s.plan.intents:
            assert "{" not in i.body and "{" not in i.subject
            used.add(i.template)
    assert used == set(load_templates())


# -- 联办: the joint case's one notice and its result, to the resident of the joint case -------
def given_joint(joint: str) -> Scenario:
    s = given()
    s.cases[joint] = CaseInfo(
        case_id=joint,
        applicant_name="陈小芳",
        phone=f.PHONE,
        email=None,
        item_name_zh="出生一件事联办",
        receipt_no="RA20260302J0INT1",
        accepting_center_id="mabei",
        material_names=f.JOINT_NAMES,
    )
    return s


def test_the_one_joint_notice_lists_shared_gaps_once_and_each_members_own_named() -> None:
    joint = f.new_joint_id()
    s = given_joint(joint).when(f.joint_missing_notified(joint))
    sms: Any = s.by_channel()["sms"]
    assert sms.template == "resident_missing_materials"
    assert sms.recipient_id == applicant_id(joint)
    assert "出生一件事联办" in sms.body and "尚缺以下3项材料" in sms.body
    assert "结婚证复印件（复印件1份）（各事项共用）" in sms.body
    assert "再生育申请审批表（原件1份）（生育登记）" in sms.body
    assert sms.data["case_id"] == joint
    assert len(s.plan.intents) == 2  # SMS and the resident webhook: one notice, not one a member


def test_a_joint_case_gets_one_receipt_naming_every_member() -> None:
    # given a joint case (联办) the directory knows; when intake accepts it
    joint = f.new_joint_id()
    s = given_joint(joint).when(f.joint_accepted(joint))
    # then ONE receipt, not one a member: its number, the bundle's promise, every member named
    sms: Any = s.by_channel()["sms"]
    assert sms.template == "resident_joint_receipt"
    assert sms.recipient_id == applicant_id(joint)
    assert sms.subject == "【受理通知】出生一件事联办（受理编号 RA20260302J0INT1）"
    assert "承诺办结日期 2026年3月9日" in sms.body, sms.body
    assert "包含以下3个事项：1.生育登记；2.新生儿出生登记(申报户口)；" in sms.body
    assert "马北社区" in sms.body
    assert len(s.plan.intents) == 2  # SMS and the resident webhook
    # and until the joint case is known, the receipt waits for it
    assert given().when(f.joint_accepted(joint)).plan.waiting_for == f"case:{joint}"


def test_a_joint_result_once_when_all_are_done_names_every_member() -> None:
    joint = f.new_joint_id()
    s = given_joint(joint).when(f.joint_result_ready(joint))
    sms: Any = s.by_channel()["sms"]
    assert sms.template == "resident_joint_result_ready"
    assert "已全部办结" in sms.body and "马北社区" in sms.body
    assert "生育登记：准予办理" in sms.body
    assert "新生儿出生登记(申报户口)：不予办理" in sms.body
    assert sms.subject.startswith("【办结通知】")


def test_a_member_by_member_result_says_it_is_part_and_a_stopped_member_why() -> None:
    joint = f.new_joint_id()
    env = f.joint_result_ready(joint, (("FP-003", "refused"), ("OT-004", "stopped")), final=False)
    sms: Any = given_joint(joint).when(env).by_channel()["sms"]
    assert "部分事项已办结" in sms.body
    assert "因关联事项不予办理而终止" in sms.body
    assert "领取" not in sms.body  # nothing approved: nothing to collect
    assert sms.subject.startswith("【办理进度】")


def test_a_joint_notice_waits_for_the_joint_registration() -> None:
    joint = f.new_joint_id()
    assert given().when(f.joint_result_ready(joint)).plan.waiting_for == f"case:{joint}"


def test_a_bad_review_reaches_the_center_head_with_the_low_dimensions() -> None:
    case = f.new_case_id()
    s = (
        given()
        .given_applicant(case)
        .given_staff("head.mabei", "周静", email="zhoujing@mabei.cn")
        .when(f.bad_review(case, "head.mabei"))
    )
    body = s.by_channel()["email"].body
    assert "收到差评（2分），低分项：服务态度；评价内容：“窗口人员态度冷淡”。" in body
    assert "请于2026年3月30日 17:30前完成回访" in body


def test_late_planning_keeps_the_planning_time_as_due_time() -> None:
    case = f.new_case_id()
    later = f.T0 + timedelta(hours=2)
    s = given().given_applicant(case).at(later).when(f.accepted(case))
    assert {i.due_at for i in s.plan.intents} == {later}


def test_an_unknown_center_is_named_generically_never_by_its_id() -> None:
    case = f.new_case_id()
    s = given().given_applicant(case)
    s.units = {}
    body = s.when(f.missing_notified(case)).by_channel()["email"].body
    assert "您在便民服务中心提交的" in body and "mabei" not in body


# -- who among the staff is told what (issue 13 #8) ---------------------------------------------
def test_a_new_assignment_tells_the_assignee_only() -> None:
    case = f.new_case_id()
    s = given().given_applicant(case).given_the_post().when(f.case_assigned(case, "officer.a"))
    assert s.told() == ["officer.a"]
    assert s.email_to("officer.a").startswith("李伟，您好：一件新案件已分派给您（A岗）")


def test_a_deadline_warning_tells_the_assignee_and_the_other_holder_of_the_post() -> None:
    """AB岗: B took the case while A was away; both hold the post, both hear it is nearly due,
    each in their own words (the assignee to handle it, the other to help see it done)."""
    case = f.new_case_id()
    s = (
        given()
        .given_applicant(case)
        .given_the_post()
        .when(f.deadline_warning(case, "officer.b", a_holder="officer.a", b_holder="officer.b"))
    )
    assert s.told() == ["officer.b", "officer.a"]
    assert {i.template for i in s.plan.intents} == {"staff_deadline_warning"}
    assert len(s.plan.intents) == 6  # SMS, e-mail, webhook each
    assert s.email_to("officer.b").startswith(
        "陈明，您好：您经办的案件“再生育(二胎)申请审批”（受理编号 RA20260302K3W9ZD）"
        "将于2026年3月23日 17:30到期，剩余1个工作日，请抓紧办理。"
    )
    assert s.email_to("officer.a").startswith(
        "李伟，您好：您所在岗位由陈明经办的案件“再生育(二胎)申请审批”（受理编号 RA20260302K3W9ZD）"
        "将于2026年3月23日 17:30到期，剩余1个工作日，请作为AB岗协助督促办理。"
    )


def test_an_overdue_case_tells_the_a_and_the_b_holder() -> None:
    case = f.new_case_id()
    s = (
        given()
        .given_applicant(case)
        .given_the_post()
        .when(f.case_overdue(case, "officer.a", a_holder="officer.a", b_holder="officer.b"))
    )
    assert s.told() == ["officer.a", "officer.b"]
    assert {i.template for i in s.plan.intents} == {"staff_overdue"}
    assert "您经办的案件" in s.email_to("officer.a") and "请立即办理。" in s.email_to("officer.a")
    assert s.email_to("officer.b").startswith("陈明，您好：您所在岗位由李伟经办的案件")
    assert s.email_to("officer.b").endswith(
        "已于2026年3月23日 17:30超过承诺办结时限，请作为AB岗协助督促办理。"
    )


def test_a_case_reassigned_off_its_post_is_still_told_to_the_posts_holders() -> None:
    """Reassigned to someone outside the post: the assignee and both holders are told."""
    case = f.new_case_id()
    s = (
        given()
        .given_applicant(case)
        .given_the_post()
        .given_staff("officer.c", "郑新", phone="13900002222")
        .when(f.case_overdue(case, "officer.c", a_holder="officer.a", b_holder="officer.b"))
    )
    assert s.told() == ["officer.c", "officer.a", "officer.b"]


def test_a_v1_notice_that_names_no_holders_tells_the_assignee() -> None:
    case = f.new_case_id()
    s = given().given_applicant(case).given_the_post().when(f.deadline_warning(case, "officer.a"))
    assert s.told() == ["officer.a"]


def test_a_notice_for_two_holders_waits_until_both_are_known() -> None:
    case = f.new_case_id()
    s = (
        given()
        .given_applicant(case)
        .given_staff("officer.a", "李伟", phone="13900001111")
        .when(f.case_overdue(case, "officer.a", a_holder="officer.a", b_holder="officer.b"))
    )
    assert s.plan == Plan(waiting_for="staff:officer.b")


def test_a_first_level_escalation_tells_the_handling_centers_head_only() -> None:
    case = f.new_case_id()
    s = (
        given()
        .given_applicant(case)
        .given_the_post()
        .when(f.case_escalated(case, "head.mayu", "officer.a", center_head="head.mayu"))
    )
    assert s.told() == ["head.mayu"]
    assert s.email_to("head.mayu").endswith("超过承诺办结时限，现提请您督办（一级督办）。")


def test_a_second_level_escalation_tells_the_next_tiers_head_and_the_centers_head() -> None:
    case = f.new_case_id()
    s = (
        given()
        .given_applicant(case)
        .given_the_post()
        .when(
            f.case_escalated(
                case,
                "head.ruian",
                "officer.a",
                level=2,
                to_unit_id="ruian",
                center_head="head.mayu",
            )
        )
    )
    assert s.told() == ["head.ruian", "head.mayu"]
    assert {i.template for i in s.plan.intents} == {"staff_escalation"}
    assert s.email_to("head.ruian") == (
        "陈美芳，您好：经办人李伟的案件“再生育(二胎)申请审批”（受理编号 RA20260302K3W9ZD）"
        "已于2026年3月23日 17:30超过承诺办结时限，现提请您督办（二级督办）。"
    )
    assert s.email_to("head.mayu") == (
        "王芳，您好：经办人李伟的案件“再生育(二胎)申请审批”（受理编号 RA20260302K3W9ZD）"
        "已于2026年3月23日 17:30超过承诺办结时限，仍未办结，现已提请瑞安市行政审批服务中心"
        "陈美芳督办（二级督办），请您继续督促办理。"
    )


@pytest.mark.parametrize(
    "make",
    [lambda c: f.bad_review(c, "head.mayu"), lambda c: f.followup_overdue(c, "head.mayu")],
    ids=["bad_review_followup_opened", "followup_overdue"],
)
def test_a_bad_review_follow_up_goes_to_the_head_it_is_assigned_to(make) -> None:  # type: ignore[no-untyped-def]
    case = f.new_case_id()
    s = given().given_applicant(case).given_the_post().when(make(case))
    assert s.told() == ["head.mayu"]
