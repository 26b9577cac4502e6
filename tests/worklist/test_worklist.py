"""The worklist on both databases: a caseload in which every source yields an item (an urgent alert, a
transition contact due tomorrow, an overdue follow-up, a stalled referral, a positive screen waiting, a
tier-4 patient never reached) comes out in the exact ranked order with its reasons; another care manager
sees none of it; pool work claimed, handed off and released with its trail; a non-member cannot claim."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization, User
from carenav.assessments.instruments import instrument_get
from carenav.assessments.rules import Channel
from carenav.assessments.services import assessment_complete, assessment_start
from carenav.audit.models import AuditEvent
from carenav.clock import frozen_at
from carenav.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from carenav.outreach.services import followups_sync
from carenav.patients.models import Encounter, Patient
from carenav.referrals.rules import ReferralKind, ReferralStatus
from carenav.referrals.services import referral_create, referral_step
from carenav.tasks.models import Task
from carenav.tasks.services import alert_raise, task_create
from carenav.transitions.services import transition_open_for_discharge
from carenav.worklist.models import WorkClaim
from carenav.worklist.queries import pool_queue, worklist_for
from carenav.worklist.rules import ItemKind
from carenav.worklist.services import pool_create, task_claim, task_hand_off, task_release, task_trail
from tests.assessments.answers import CALM_SOCIAL, SAFETY_ITEMS
from tests.assessments.responses import response
from tests.builders import make_org, make_patient
from tests.outreach.test_outreach import default_rules, enrol, set_tier
from tests.web.users import actor_of, assign, cheap_passwords, make_user

__all__ = ["cheap_passwords", "default_rules"]

MAY_1 = datetime(2025, 5, 1, 14, 0, tzinfo=UTC)
MAY_20 = datetime(2025, 5, 20, 14, 0, tzinfo=UTC)
MONDAY = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)  # the discharge below was Friday May 30


class Caseload:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.org: Organization = make_org(session)
        self.operator = Actor.operator(self.org.id, "tests")
        self.casey_user: User = make_user(session, self.org, "casey.cm", team="north")
        self.casey = actor_of(self.casey_user)
        self.drew = actor_of(make_user(session, self.org, "drew.cm"))
        self.sam_user = make_user(session, self.org, "sam.sw", display_name="Sam Social")
        self.sam = actor_of(self.sam_user)

    def patient(self, given: str, family: str, **kw: object) -> Patient:
        patient = make_patient(self.session, self.org, given=given, family=family, **kw)  # type: ignore[arg-type]
        assign(self.session, self.org, self.casey_user, patient)
        return patient


@pytest.fixture
def caseload(session: Session, cheap_passwords: object) -> Caseload:
    return Caseload(session)


def _build(c: Caseload) -> dict[str, Patient]:
    s = c.session
    follow = c.patient("Amy", "Follow")
    enrol(s, follow, "ccm", MAY_1)
    transit = c.patient(
        "Ben",
        "Transit",
        encounters=[
            {
                "encounter_class": "IMP",
                "period_start": datetime(2025, 5, 26, 15, tzinfo=UTC),
                "period_end": datetime(2025, 5, 30, 16, tzinfo=UTC),
                "discharge_disposition_code": "01",
            }
        ],
    )
    alerted = c.patient("Cal", "Alert")
    referred = c.patient("Dee", "Referral")
    screened = c.patient("Eve", "Screen")
    risky = c.patient("Fay", "Tier")
    with frozen_at(MAY_20):
        referral = referral_create(
            session=s,
            actor=c.casey,
            patient_uuid=referred.uuid,
            kind=ReferralKind.SPECIALIST,
            reason="Cardiology",
            recipient="Riverside Cardiology",
            expected_by=date(2025, 5, 28),
        )
        referral_step(session=s, actor=c.casey, referral_uuid=referral.uuid, to=ReferralStatus.SENT)
    with frozen_at(MONDAY):
        followups_sync(session=s, actor=c.casey, patient_uuid=follow.uuid)
        stay = s.scalars(select(Encounter).where(Encounter.patient_id == transit.id)).one()
        assert transition_open_for_discharge(session=s, actor=c.operator, encounter=stay) is not None
        alert_raise(session=s, actor=c.operator, patient=alerted, kind="fall", text="Fell twice this week")
        started = assessment_start(
            session=s,
            actor=c.casey,
            patient_uuid=screened.uuid,
            instrument_id="ahc-hrsn",
            channel=Channel.PHONE,
        )
        answers = {**CALM_SOCIAL, "/88122-7": "LA6729-3", **dict.fromkeys(SAFETY_ITEMS, "LA6270-8")}
        assessment_complete(
            session=s,
            actor=c.casey,
            assessment_uuid=started.uuid,
            response=response(instrument_get("ahc-hrsn"), answers),
        )
        set_tier(s, risky, 4, MONDAY)
    return {"follow": follow, "transit": transit, "alerted": alerted, "referred": referred}


def test_every_source_in_its_ranked_place_with_its_reason(session: Session, caseload: Caseload) -> None:
    _build(caseload)
    with frozen_at(MONDAY):
        ranked = worklist_for(session, caseload.casey).items
        got = [
            (r.position, r.item.kind, r.item.patient_name, r.item.reason, r.item.overdue_days) for r in ranked
        ]
        assert got == [
            (1, ItemKind.ALERT, "Cal Alert", "Alert (fall): Fell twice this week", 0),
            (
                2,
                ItemKind.TRANSITION_SOON,
                "Ben Transit",
                "Discharged 2025-05-30: Interactive contact with the patient or caregiver by 2025-06-03"
                " (1 business day left)",
                0,
            ),
            (3, ItemKind.FOLLOWUP, "Amy Follow", got[2][3], 1),
            (
                4,
                ItemKind.REFERRAL,
                "Dee Referral",
                "Specialist referral to Riverside Cardiology is sent, expected by 2025-05-28",
                5,
            ),
            (
                5,
                ItemKind.SCREEN,
                "Eve Screen",
                "Positive screen (food-insecurity): 2 suggestions waiting for a decision",
                0,
            ),
            (
                6,
                ItemKind.NOT_ENGAGED,
                "Fay Tier",
                "Not engaged: tier 4; no reached contact in 30 days",
                0,
            ),
        ]
        assert got[2][3].endswith("overdue by 1 day")
        assert "1 day overdue" in ranked[2].why
        assert "band 30" in ranked[2].why
        actions = {a.key for a in ranked[2].item.actions}
        assert actions == {"log-contact", "start-timer", "open-plan", "reschedule"}
        assert ranked[0].item.actions[0].url == f"/patients/{ranked[0].item.patient_uuid}#outreach"
        # another care manager sees none of it
        assert worklist_for(session, caseload.drew).items == []
        # listing is audited, one row per patient shown
        listed = session.scalars(
            select(AuditEvent.patient_uuid).where(
                AuditEvent.org_id == caseload.org.id, AuditEvent.detail == "worklist"
            )
        ).all()
        assert len(listed) == 6


def test_a_stretch_of_the_worklist_shows_and_audits_its_own_items(
    session: Session, caseload: Caseload
) -> None:
    _build(caseload)
    with frozen_at(MONDAY):
        whole = worklist_for(session, caseload.casey).items
        page = worklist_for(session, caseload.casey, offset=2, limit=3)
        assert [r.position for r in page.items] == [3, 4, 5]
        assert [r.item for r in page.items] == [r.item for r in whole[2:5]]
        assert (page.total, page.matching, page.next_offset) == (6, 6, 5)
        assert page.counts[ItemKind.SCREEN] == 1
        assert sum(page.counts.values()) == 6
        last = worklist_for(session, caseload.casey, offset=5, limit=3)
        assert [r.position for r in last.items] == [6]
        assert last.next_offset is None
        screens = worklist_for(session, caseload.casey, kind=ItemKind.SCREEN, limit=3)
        assert [(r.position, r.item.patient_name) for r in screens.items] == [(5, "Eve Screen")]
        assert (screens.total, screens.matching, screens.next_offset) == (6, 1, None)
        for bad in ({"offset": -1}, {"limit": 0}):
            with pytest.raises(InvalidInput, match="page"):
                worklist_for(session, caseload.casey, **bad)  # type: ignore[arg-type]
        listed = session.scalars(
            select(AuditEvent.patient_uuid)
            .where(AuditEvent.org_id == caseload.org.id, AuditEvent.detail == "worklist")
            .order_by(AuditEvent.id)
        ).all()
        shown = [r.item.patient_uuid for r in (*whole, *page.items, *last.items, *screens.items)]
        assert listed == shown, "each call audits the patients it returned, and only those"


def test_pool_work_claimed_handed_off_and_released_with_its_trail(
    session: Session, caseload: Caseload
) -> None:
    c = caseload
    patient = c.patient("Gus", "Pool")
    with frozen_at(MONDAY):
        pool = pool_create(
            session=session, actor=c.operator, key="social-work", name="Social work", usernames=["sam.sw"]
        )
        with pytest.raises(Forbidden):
            pool_create(session=session, actor=c.casey, key="x", name="X")
        task = task_create(
            session=session, actor=c.operator, patient=patient, title="Housing", due_on=MONDAY.date()
        )
        assert task.assigned_user_id == c.casey_user.id
        # the task is in casey's own queue
        assert [r.item.kind for r in worklist_for(session, c.casey).items] == [ItemKind.TASK]
        with pytest.raises(InvalidInput, match="say why"):
            task_hand_off(
                session=session, actor=c.casey, task_uuid=task.uuid, to_pool_key="social-work", note=" "
            )
        task_hand_off(
            session=session,
            actor=c.casey,
            task_uuid=task.uuid,
            to_pool_key="social-work",
            note="eviction notice",
        )
        assert (task.assigned_user_id, task.pool_id) == (None, pool.id)
        assert worklist_for(session, c.casey).items == [], "pool work is not in casey's own queue"
        queue = pool_queue(session, c.sam, "social-work")
        assert [t.task.uuid for t in queue.unclaimed] == [task.uuid]
        assert queue.claimed == []
        # casey reaches the patient but is no member; drew reaches neither
        with pytest.raises(Forbidden, match="only members"):
            task_claim(session=session, actor=c.casey, task_uuid=task.uuid)
        with pytest.raises(NotFound):
            task_claim(session=session, actor=c.drew, task_uuid=task.uuid)
        with pytest.raises(NotFound):
            pool_queue(session, c.drew, "social-work")
        task_claim(session=session, actor=c.sam, task_uuid=task.uuid)
        assert task.assigned_user_id == c.sam_user.id
        with pytest.raises(RuleViolation, match="already claimed"):
            task_claim(session=session, actor=c.sam, task_uuid=task.uuid)
        mine = worklist_for(session, c.sam).items
        assert [(r.item.kind, r.item.patient_name) for r in mine] == [(ItemKind.TASK, "Gus Pool")]
        assert {a.key for a in mine[0].item.actions} >= {"hand-off", "release"}
        queue = pool_queue(session, c.sam, "social-work")
        assert queue.unclaimed == []
        assert [t.claimed_by for t in queue.claimed] == ["Sam Social"]
        task_release(session=session, actor=c.sam, task_uuid=task.uuid, note="needs legal aid first")
        assert (task.assigned_user_id, task.pool_id) == (None, pool.id)
        with pytest.raises(RuleViolation):
            task_release(session=session, actor=c.sam, task_uuid=task.uuid)
        task_hand_off(
            session=session, actor=c.sam, task_uuid=task.uuid, to_username="casey.cm", note="back to you"
        )
        trail = task_trail(session, c.casey, task.uuid)
        assert [
            (t.action, t.from_user_id, t.from_pool_id, t.to_user_id, t.to_pool_id, t.note) for t in trail
        ] == [
            ("handed-off", c.casey_user.id, None, None, pool.id, "eviction notice"),
            ("claimed", None, pool.id, c.sam_user.id, None, None),
            ("released", c.sam_user.id, None, None, pool.id, "needs legal aid first"),
            ("handed-off", None, pool.id, c.casey_user.id, None, "back to you"),
        ]
        assert (task.assigned_user_id, task.pool_id) == (c.casey_user.id, None)
        audited = session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == task.uuid).order_by(AuditEvent.id)
        ).all()
        assert audited == [
            "task-create",
            "task-handed-off",
            "task-claimed",
            "task-released",
            "task-handed-off",
        ]
        assert session.scalar(select(Task.pool_id).where(Task.id == task.id)) is None
        assert len(session.scalars(select(WorkClaim).where(WorkClaim.task_id == task.id)).all()) == 4
