"""Prior authorizations through the services (SQLite and PostgreSQL): a request drafted, completed, submitted,
pended, denied, appealed with a peer-to-peer review and overturned, each step an event and an audit row; a
partial approval appealed and upheld, the next level's window opened; alternatives weighed and one chosen,
linked to a goal; the advocacy log; the tracker's deadlines across a caseload; bad input refused, saying
what and where, with nothing half-written; out of reach is NotFound."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization, User
from carenav.audit.models import AuditEvent
from carenav.authorizations.models import AuthorizationDocument, AuthorizationEvent, PriorAuthorization
from carenav.authorizations.rules import (
    AppealOutcome,
    AppealStatus,
    AuthorizationStatus,
    DueKind,
    PayerKind,
)
from carenav.authorizations.services import (
    Approval,
    RequestFields,
    advocacy_log,
    advocacy_record,
    alternative_add,
    alternative_choose,
    alternative_link_goal,
    appeal_decide,
    appeal_file,
    appeal_peer_to_peer_held,
    appeal_schedule_peer_to_peer,
    appeal_withdraw,
    authorization_create,
    authorization_decide,
    authorization_revise,
    authorization_step,
    authorization_submit,
    authorizations_due,
    document_attach,
    document_read,
    document_remove,
    patient_authorizations,
)
from carenav.careplans.models import Goal
from carenav.careplans.services import goal_add, plan_create
from carenav.clock import frozen_at
from carenav.errors import InvalidInput, NotFound, RuleViolation
from carenav.patients.models import Patient
from tests.builders import make_org, make_patient
from tests.web.users import actor_of, assign, cheap_passwords, make_user

__all__ = ["cheap_passwords"]
MONDAY = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n"

S = AuthorizationStatus
Clinic = tuple[Actor, Actor, Actor, Patient, Goal]


@dataclass(frozen=True)
class Place:
    org: Organization
    casey: User


@pytest.fixture
def place(session: Session, cheap_passwords: object) -> Place:
    org = make_org(session)
    return Place(org, make_user(session, org, "casey.cm"))


@pytest.fixture
def clinic(session: Session, place: Place) -> Clinic:
    """Casey's patient with a care plan goal; Drew, a care manager of the same organization without the
    patient; Erin, of another organization."""
    org, casey = place.org, place.casey
    patient = make_patient(session, org)
    assign(session, org, casey, patient)
    other = make_org(session)
    erin = actor_of(make_user(session, other, "erin.cm"))
    with frozen_at(MONDAY):
        plan = plan_create(session=session, actor=actor_of(casey), patient_uuid=patient.uuid, title="Plan")
        goal = goal_add(
            session=session, actor=actor_of(casey), plan_uuid=plan.uuid, description="Walk to the mailbox"
        )
    return actor_of(casey), actor_of(make_user(session, org, "drew.cm")), erin, patient, goal


def _fields(**changes: object) -> RequestFields:
    values: dict[str, object] = {
        "service": "Outpatient physical therapy, 12 visits",
        "payer_name": "Sunshine Medicare Advantage",
        "payer_kind": PayerKind.MEDICARE_ADVANTAGE,
        "clinical_justification": "Two falls in a month after knee replacement; gait unsafe without therapy",
        "service_codes": "97110, 97116",
        "diagnosis_codes": "Z96.651 R26.81",
        "requested_units": 12,
    }
    values.update(changes)
    return RequestFields(**values)  # type: ignore[arg-type]


def test_denied_appealed_peer_to_peer_and_overturned(session: Session, clinic: Clinic) -> None:
    casey, _drew, _erin, patient, goal = clinic
    with frozen_at(MONDAY):
        request = authorization_create(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            fields=_fields(service_codes="", clinical_justification=""),
            goal_uuid=goal.uuid,
        )
        assert request.status == "draft"
        assert request.goal_id == goal.id
        with pytest.raises(RuleViolation, match=r"CPT or HCPCS code, .*clinical justification") as gaps:
            authorization_submit(session=session, actor=casey, authorization_uuid=request.uuid)
        assert gaps.value.where == "authorization submission"
        authorization_revise(
            session=session,
            actor=casey,
            authorization_uuid=request.uuid,
            fields=_fields(),
            goal_uuid=goal.uuid,
        )
        assert request.service_codes == ["97110", "97116"]
        assert request.diagnosis_codes == ["Z96.651", "R26.81"]
        document = document_attach(
            session=session,
            actor=casey,
            authorization_uuid=request.uuid,
            filename="letter of medical necessity.pdf",
            content=PDF,
        )
        assert document.media_type == "application/pdf"
        assert document.size_bytes == len(PDF)
        authorization_submit(
            session=session,
            actor=casey,
            authorization_uuid=request.uuid,
            submitted_on=date(2025, 6, 2),
            reference_number="PA-77812",
        )
        assert request.decision_due_on == date(2025, 6, 16), "14 calendar days (standard, before 2026)"
        assert request.decision_rule is not None
        assert "422.568" in request.decision_rule
        with pytest.raises(RuleViolation, match="only a draft"):
            authorization_revise(
                session=session, actor=casey, authorization_uuid=request.uuid, fields=_fields()
            )
        authorization_step(
            session=session,
            actor=casey,
            authorization_uuid=request.uuid,
            to=S.PENDING,
            note="payer asked for the surgeon's notes",
        )
        (due,) = authorizations_due(session=session, actor=casey, within_days=30)
        assert (due.deadline.kind, due.deadline.on, due.days_left) == (
            DueKind.DECISION,
            date(2025, 6, 16),
            14,
        )
        with pytest.raises(RuleViolation, match="needs the payer's reason"):
            authorization_decide(
                session=session, actor=casey, authorization_uuid=request.uuid, decision=S.DENIED
            )
        authorization_decide(
            session=session,
            actor=casey,
            authorization_uuid=request.uuid,
            decision=S.DENIED,
            decided_on=date(2025, 6, 2),
            reason="Not medically necessary: home exercise program judged sufficient",
        )
        assert request.appeal_by == date(2025, 8, 6), "65 days from the notice (42 CFR 422.582)"
        (window,) = authorizations_due(session=session, actor=casey, within_days=90)
        assert (window.deadline.kind, window.deadline.level) == (DueKind.APPEAL_BY, 1)
        assert authorizations_due(session=session, actor=casey, within_days=30) == [], "beyond the horizon"

        appeal = appeal_file(
            session=session,
            actor=casey,
            authorization_uuid=request.uuid,
            expedited=True,
            grounds="Fall risk: waiting would seriously jeopardize her ability to regain function",
            reference_number="APL-1",
        )
        assert (appeal.level, appeal.status, appeal.decision_due_on) == (1, "filed", date(2025, 6, 5))
        assert appeal.rule is not None
        assert appeal.rule.startswith("Reconsideration by the plan")
        with pytest.raises(RuleViolation, match="still open"):
            appeal_file(session=session, actor=casey, authorization_uuid=request.uuid)
        with pytest.raises(InvalidInput, match="has passed") as passed:
            appeal_schedule_peer_to_peer(
                session=session,
                actor=casey,
                appeal_uuid=appeal.uuid,
                at=MONDAY - timedelta(hours=1),
                with_whom="Dr. Patel",
            )
        assert passed.value.where == "peer-to-peer time"
        with pytest.raises(InvalidInput, match="name the payer's reviewer"):
            appeal_schedule_peer_to_peer(
                session=session,
                actor=casey,
                appeal_uuid=appeal.uuid,
                at=MONDAY + timedelta(days=1),
                with_whom="",
            )
        appeal_schedule_peer_to_peer(
            session=session,
            actor=casey,
            appeal_uuid=appeal.uuid,
            at=datetime(2025, 6, 3, 19, 0, tzinfo=UTC),
            with_whom="Dr. Patel, plan medical director",
        )
        appeal_schedule_peer_to_peer(
            session=session,
            actor=casey,
            appeal_uuid=appeal.uuid,
            at=datetime(2025, 6, 4, 19, 0, tzinfo=UTC),
            with_whom="Dr. Patel, plan medical director",
        )
        deadlines = [
            (d.deadline.kind, d.deadline.on)
            for d in authorizations_due(session=session, actor=casey, within_days=7)
        ]
        assert deadlines == [
            (DueKind.PEER_TO_PEER, date(2025, 6, 4)),
            (DueKind.APPEAL_DECISION, date(2025, 6, 5)),
        ]
        with pytest.raises(RuleViolation, match="needs what was said"):
            appeal_peer_to_peer_held(session=session, actor=casey, appeal_uuid=appeal.uuid, note=" ")
    with frozen_at(datetime(2025, 6, 5, 15, 0, tzinfo=UTC)):
        appeal_peer_to_peer_held(
            session=session,
            actor=casey,
            appeal_uuid=appeal.uuid,
            note="Surgeon explained the falls; reviewer agreed to reconsider",
        )
        with pytest.raises(InvalidInput, match="approves nothing"):
            appeal_decide(
                session=session,
                actor=casey,
                appeal_uuid=appeal.uuid,
                outcome=AppealOutcome.UPHELD,
                approval=Approval(units=3),
            )
        appeal_decide(
            session=session,
            actor=casey,
            appeal_uuid=appeal.uuid,
            outcome=AppealOutcome.OVERTURNED,
            note="Approved on reconsideration",
            approval=Approval(
                authorization_number="AUTH-5531",
                units=12,
                valid_from=date(2025, 6, 5),
                valid_to=date(2025, 8, 31),
            ),
        )
        assert (appeal.status, appeal.outcome, appeal.decided_on) == (
            "decided",
            "overturned",
            date(2025, 6, 5),
        )
        assert request.status == "approved"
        assert request.authorization_number == "AUTH-5531"
        assert request.appeal_by is None
        with pytest.raises(RuleViolation, match="only a denied or partially approved"):
            appeal_file(session=session, actor=casey, authorization_uuid=request.uuid)
        (ends,) = authorizations_due(session=session, actor=casey, within_days=90)
        assert (ends.deadline.kind, ends.deadline.on) == (DueKind.APPROVAL_ENDS, date(2025, 8, 31))
    trail = [(e.from_status, e.to_status, e.appeal_id is not None) for e in request.events]
    assert trail == [
        (None, "draft", False),
        (None, None, False),  # revised
        (None, None, False),  # document
        ("draft", "submitted", False),
        ("submitted", "pending", False),
        ("pending", "denied", False),
        (None, "filed", True),
        ("filed", "p2p-scheduled", True),
        ("p2p-scheduled", "p2p-scheduled", True),
        ("p2p-scheduled", "p2p-held", True),
        ("p2p-held", "decided", True),
        ("denied", "approved", True),
    ]
    assert "moved to 2025-06-04T19:00" in (request.events[8].note or "")
    assert all(e.actor == "user:casey.cm" for e in request.events)
    actions = set(
        session.scalars(select(AuditEvent.action).where(AuditEvent.patient_uuid == patient.uuid)).all()
    )
    assert {"authorization-create", "authorization-submit", "authorization-denied", "appeal-filed"} <= actions
    assert {
        "appeal-p2p-scheduled",
        "appeal-p2p-held",
        "appeal-decided",
        "authorization-document-add",
    } <= actions
    view = patient_authorizations(session=session, actor=casey, patient_uuid=patient.uuid)[0]
    assert view.row.uuid == request.uuid
    assert view.open_appeal is None
    assert view.next_level is None


def test_partial_approval_upheld_and_the_alternative_chosen(session: Session, clinic: Clinic) -> None:
    casey, _drew, _erin, patient, goal = clinic
    with frozen_at(MONDAY):
        request = authorization_create(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            fields=_fields(
                service="Home health aide, 20 hours a week",
                payer_name="Acme Health PPO",
                payer_kind=PayerKind.COMMERCIAL,
                service_codes=["G0156"],
                diagnosis_codes=["I50.9"],
                requested_units=80,
            ),
        )
        authorization_submit(session=session, actor=casey, authorization_uuid=request.uuid)
        assert request.decision_due_on == date(2025, 6, 17), "ERISA pre-service: 15 days"
        with pytest.raises(RuleViolation, match="weighed when a service is denied"):
            alternative_add(session=session, actor=casey, authorization_uuid=request.uuid, description="x")
        with pytest.raises(RuleViolation, match="what was approved"):
            authorization_decide(
                session=session,
                actor=casey,
                authorization_uuid=request.uuid,
                decision=S.PARTIALLY_APPROVED,
                reason="Only 10 hours a week are covered",
            )
        with pytest.raises(InvalidInput, match="before the request was submitted"):
            authorization_decide(
                session=session,
                actor=casey,
                authorization_uuid=request.uuid,
                decision=S.DENIED,
                decided_on=date(2025, 6, 1),
                reason="x",
            )
        authorization_decide(
            session=session,
            actor=casey,
            authorization_uuid=request.uuid,
            decision=S.PARTIALLY_APPROVED,
            reason="Only 10 hours a week are covered",
            approval=Approval(units=40, authorization_number="A-9", valid_to=date(2025, 6, 30)),
        )
        assert (request.status, request.approved_units, request.appeal_by) == (
            "partially-approved",
            40,
            date(2025, 11, 29),
        )
        kinds = [d.deadline.kind for d in authorizations_due(session=session, actor=casey, within_days=365)]
        assert kinds == [DueKind.APPROVAL_ENDS, DueKind.APPEAL_BY]
        appeal = appeal_file(session=session, actor=casey, authorization_uuid=request.uuid)
        assert appeal.decision_due_on == date(2025, 7, 2), "pre-service internal appeal: 30 days"
    with frozen_at(datetime(2025, 6, 20, 14, 0, tzinfo=UTC)):
        appeal_decide(
            session=session,
            actor=casey,
            appeal_uuid=appeal.uuid,
            outcome=AppealOutcome.UPHELD,
            decided_on=date(2025, 6, 20),
            note="Plan limit of 10 hours",
        )
        assert request.status == "partially-approved"
        assert request.appeal_by == date(2025, 10, 20), "external review: 4 months"
        assert request.appeal_rule is not None
        assert request.appeal_rule.startswith("External review")
        view = patient_authorizations(session=session, actor=casey, patient_uuid=patient.uuid)[0]
        assert view.next_level == 2
        assert view.next_rule is not None
        assert view.next_rule.name == "External review"

        respite = alternative_add(
            session=session,
            actor=casey,
            authorization_uuid=request.uuid,
            description="Adult day program three days a week",
            reason="Covered by the county's aging services",
        )
        assert respite.goal_id is None, "the request had no goal"
        with pytest.raises(InvalidInput, match="already listed"):
            alternative_add(
                session=session,
                actor=casey,
                authorization_uuid=request.uuid,
                description="adult day program three days a week",
            )
        with pytest.raises(RuleViolation, match="link the alternative to the goal") as unlinked:
            alternative_choose(session=session, actor=casey, alternative_uuid=respite.uuid)
        assert unlinked.value.where == "alternative goal"
        family = alternative_add(
            session=session,
            actor=casey,
            authorization_uuid=request.uuid,
            description="Daughter covers evenings",
            goal_uuid=goal.uuid,
        )
        alternative_choose(session=session, actor=casey, alternative_uuid=family.uuid, reason="Available now")
        alternative_link_goal(
            session=session, actor=casey, alternative_uuid=respite.uuid, goal_uuid=goal.uuid
        )
        alternative_choose(
            session=session, actor=casey, alternative_uuid=respite.uuid, reason="Daughter's job changed"
        )
        assert [(a.description, a.chosen) for a in request.alternatives] == [
            ("Adult day program three days a week", True),
            ("Daughter covers evenings", False),
        ]
        assert respite.goal_id == goal.id
        assert respite.chosen_on == date(2025, 6, 20)
        assert request.events[-1].note == (
            "alternative chosen: Adult day program three days a week (instead of Daughter covers evenings):"
            " Daughter's job changed"
        )
        with pytest.raises(RuleViolation, match="already the one chosen"):
            alternative_choose(session=session, actor=casey, alternative_uuid=respite.uuid)

        second = appeal_file(session=session, actor=casey, authorization_uuid=request.uuid)
        assert second.level == 2
        appeal_withdraw(session=session, actor=casey, appeal_uuid=second.uuid, reason="Day program works")
        third = appeal_file(session=session, actor=casey, authorization_uuid=request.uuid)
        assert third.level == 2, "a withdrawn appeal is filed again at its level"
        with pytest.raises(RuleViolation, match="needs the reason"):
            appeal_withdraw(session=session, actor=casey, appeal_uuid=third.uuid, reason="")


def test_a_late_appeal_needs_its_good_cause_and_an_untracked_level(session: Session, clinic: Clinic) -> None:
    casey, _drew, _erin, patient, _goal = clinic
    with frozen_at(MONDAY):
        request = authorization_create(
            session=session, actor=casey, patient_uuid=patient.uuid, fields=_fields()
        )
        authorization_submit(session=session, actor=casey, authorization_uuid=request.uuid)
        authorization_decide(
            session=session, actor=casey, authorization_uuid=request.uuid, decision=S.DENIED, reason="No"
        )
    with frozen_at(datetime(2025, 9, 1, 14, 0, tzinfo=UTC)):
        assert authorizations_due(session=session, actor=casey, within_days=365) == [], "the window lapsed"
        with pytest.raises(RuleViolation, match="closed on 2025-08-06") as closed:
            appeal_file(session=session, actor=casey, authorization_uuid=request.uuid)
        assert closed.value.where == "appeal filed on"
        appeal = appeal_file(
            session=session,
            actor=casey,
            authorization_uuid=request.uuid,
            late_reason="She was in hospital from June 20 to August 30",
        )
        appeal_decide(session=session, actor=casey, appeal_uuid=appeal.uuid, outcome=AppealOutcome.UPHELD)
        assert request.appeal_by is None, "level 2 goes to the IRE automatically"
        assert "forwards it to level 2" in (request.events[-1].note or "")
        forwarded = appeal_file(session=session, actor=casey, authorization_uuid=request.uuid)
        assert (forwarded.level, forwarded.decision_due_on, forwarded.status) == (2, None, AppealStatus.FILED)
        appeal_decide(session=session, actor=casey, appeal_uuid=forwarded.uuid, outcome=AppealOutcome.UPHELD)
        assert request.appeal_by == date(2025, 9, 1) + timedelta(days=65), (
            "ALJ: 60 days after presumed receipt"
        )
        alj = appeal_file(session=session, actor=casey, authorization_uuid=request.uuid)
        appeal_decide(session=session, actor=casey, appeal_uuid=alj.uuid, outcome=AppealOutcome.UPHELD)
        assert request.appeal_by is None
        assert request.appeal_rule is None
        beyond = appeal_file(session=session, actor=casey, authorization_uuid=request.uuid)
        assert (beyond.level, beyond.rule, beyond.decision_due_on) == (4, None, None), "level not tracked"


def test_bad_input_is_refused_and_nothing_is_half_written(session: Session, clinic: Clinic) -> None:
    casey, _drew, _erin, patient, _goal = clinic
    with frozen_at(MONDAY):
        for changes, where, message in (
            ({"service": " "}, "authorization service", "say what service"),
            ({"payer_name": ""}, "authorization payer", "name the payer"),
            ({"service_codes": "97110, 9711"}, "service codes", "'9711' is not a CPT code"),
            ({"diagnosis_codes": "I50.9 150.9"}, "diagnosis codes", "'150.9' is not an ICD-10-CM code"),
            ({"requested_units": 0}, "authorization requested units", "at least 1"),
            ({"member_id": "x" * 65}, "authorization member id", "at most 64"),
        ):
            with pytest.raises(InvalidInput, match=message) as caught:
                authorization_create(
                    session=session, actor=casey, patient_uuid=patient.uuid, fields=_fields(**changes)
                )
            assert caught.value.where == where
        with pytest.raises(NotFound, match="goal"):
            authorization_create(
                session=session,
                actor=casey,
                patient_uuid=patient.uuid,
                fields=_fields(),
                goal_uuid="00000000-0000-0000-0000-000000000000",
            )
        session.flush()
        assert session.scalar(select(func.count()).select_from(PriorAuthorization)) == 0

        request = authorization_create(
            session=session, actor=casey, patient_uuid=patient.uuid, fields=_fields()
        )
        events = len(request.events)
        with pytest.raises(InvalidInput, match="10 MB"):
            document_attach(
                session=session,
                actor=casey,
                authorization_uuid=request.uuid,
                filename="scan.pdf",
                content=PDF + b"0" * (10 * 1024 * 1024),
            )
        with pytest.raises(InvalidInput, match="not a PDF") as fake:
            document_attach(
                session=session,
                actor=casey,
                authorization_uuid=request.uuid,
                filename="x.pdf",
                content=b"<html>",
            )
        assert fake.value.where == "document 'x.pdf'"
        session.flush()
        assert session.scalar(select(func.count()).select_from(AuthorizationDocument)) == 0
        assert len(request.events) == events
        with pytest.raises(InvalidInput, match="in the future") as future:
            authorization_submit(
                session=session, actor=casey, authorization_uuid=request.uuid, submitted_on=date(2025, 6, 3)
            )
        assert future.value.where == "authorization submitted on"
        assert request.status == "draft"
        with pytest.raises(InvalidInput, match="its own form"):
            authorization_step(session=session, actor=casey, authorization_uuid=request.uuid, to=S.APPROVED)
        with pytest.raises(RuleViolation, match="a draft request cannot become denied"):
            authorization_decide(
                session=session, actor=casey, authorization_uuid=request.uuid, decision=S.DENIED, reason="x"
            )
        with pytest.raises(InvalidInput, match="not a decision"):
            authorization_decide(
                session=session, actor=casey, authorization_uuid=request.uuid, decision=S.PENDING
            )
        authorization_submit(session=session, actor=casey, authorization_uuid=request.uuid)
        with pytest.raises(InvalidInput, match="a denial approves nothing"):
            authorization_decide(
                session=session,
                actor=casey,
                authorization_uuid=request.uuid,
                decision=S.DENIED,
                reason="No",
                approval=Approval(authorization_number="A-1"),
            )
        with pytest.raises(InvalidInput, match="before valid from") as validity:
            authorization_decide(
                session=session,
                actor=casey,
                authorization_uuid=request.uuid,
                decision=S.APPROVED,
                approval=Approval(valid_from=date(2025, 7, 1), valid_to=date(2025, 6, 1)),
            )
        assert validity.value.where == "authorization valid to"
        assert request.status == "submitted"
        assert request.valid_to is None
        with pytest.raises(RuleViolation, match="only a denied or partially approved"):
            appeal_file(session=session, actor=casey, authorization_uuid=request.uuid)
        authorization_step(
            session=session,
            actor=casey,
            authorization_uuid=request.uuid,
            to=S.WITHDRAWN,
            note="Surgery postponed",
        )
        with pytest.raises(RuleViolation, match="withdrawn"):
            document_attach(
                session=session, actor=casey, authorization_uuid=request.uuid, filename="x.pdf", content=PDF
            )


def test_documents_read_and_removed(session: Session, clinic: Clinic) -> None:
    casey, drew, erin, patient, _goal = clinic
    with frozen_at(MONDAY):
        request = authorization_create(
            session=session, actor=casey, patient_uuid=patient.uuid, fields=_fields()
        )
        document = document_attach(
            session=session,
            actor=casey,
            authorization_uuid=request.uuid,
            filename="notes.txt",
            content=b"Visit notes: gait unsteady",
            description="Surgeon's notes",
        )
        session.expire(document)
        assert document_read(session=session, actor=casey, document_uuid=document.uuid).content.startswith(
            b"Visit"
        )
        for outsider in (drew, erin):
            with pytest.raises(NotFound):
                document_read(session=session, actor=outsider, document_uuid=document.uuid)
        with pytest.raises(InvalidInput, match="say why"):
            document_remove(session=session, actor=casey, document_uuid=document.uuid, reason=" ")
        document_remove(
            session=session, actor=casey, document_uuid=document.uuid, reason="another patient's notes"
        )
        assert request.documents == []
        assert session.scalar(select(func.count()).select_from(AuthorizationDocument)) == 0
        assert request.events[-1].note == "document removed: notes.txt (another patient's notes)"


def test_advocacy_log(session: Session, clinic: Clinic, place: Place) -> None:
    casey, drew, _erin, patient, _goal = clinic
    other_patient = make_patient(session, place.org, family="Roe")
    assign(session, place.org, place.casey, other_patient)
    with frozen_at(MONDAY):
        request = authorization_create(
            session=session, actor=casey, patient_uuid=patient.uuid, fields=_fields()
        )
        advocacy_record(
            session=session,
            actor=casey,
            patient_uuid=patient.uuid,
            kind="call-payer",
            action="Asked for the status of the request",
            with_whom="Plan utilization management, rep Dana",
            outcome="Pended for notes; fax them by Friday",
            authorization_uuid=request.uuid,
            done_on=date(2025, 5, 30),
        )
        advocacy_record(
            session=session, actor=casey, patient_uuid=patient.uuid, kind="letter", action="Wrote to the plan"
        )
        for kind, action, done_on, where in (
            ("fax", "x", None, "advocacy kind"),
            ("letter", " ", None, "advocacy action"),
            ("letter", "x", date(2025, 6, 3), "advocacy date"),
        ):
            with pytest.raises(InvalidInput) as caught:
                advocacy_record(
                    session=session,
                    actor=casey,
                    patient_uuid=patient.uuid,
                    kind=kind,
                    action=action,
                    done_on=done_on,
                )
            assert caught.value.where == where
        with pytest.raises(NotFound, match="request"):
            advocacy_record(
                session=session,
                actor=casey,
                patient_uuid=other_patient.uuid,
                kind="letter",
                action="x",
                authorization_uuid=request.uuid,
            )
        log = advocacy_log(session=session, actor=casey, patient_uuid=patient.uuid)
        assert [(a.kind, a.done_on) for a in log] == [
            ("letter", date(2025, 6, 2)),
            ("call-payer", date(2025, 5, 30)),
        ]
        assert log[1].authorization_id == request.id
        with pytest.raises(NotFound):
            advocacy_log(session=session, actor=drew, patient_uuid=patient.uuid)


def test_reach_and_the_tracker_across_a_caseload(session: Session, clinic: Clinic, place: Place) -> None:
    casey, drew, erin, patient, _goal = clinic
    with frozen_at(MONDAY):
        request = authorization_create(
            session=session, actor=casey, patient_uuid=patient.uuid, fields=_fields()
        )
        authorization_submit(session=session, actor=casey, authorization_uuid=request.uuid)
        authorization_decide(
            session=session, actor=casey, authorization_uuid=request.uuid, decision=S.DENIED, reason="No"
        )
        appeal = appeal_file(session=session, actor=casey, authorization_uuid=request.uuid)
        alternative = alternative_add(
            session=session, actor=casey, authorization_uuid=request.uuid, description="Home exercise"
        )
        for outsider in (drew, erin):
            with pytest.raises(NotFound):
                authorization_create(
                    session=session, actor=outsider, patient_uuid=patient.uuid, fields=_fields()
                )
            with pytest.raises(NotFound, match="request"):
                authorization_step(
                    session=session, actor=outsider, authorization_uuid=request.uuid, to=S.WITHDRAWN, note="x"
                )
            with pytest.raises(NotFound, match="appeal"):
                appeal_withdraw(session=session, actor=outsider, appeal_uuid=appeal.uuid, reason="x")
            with pytest.raises(NotFound, match="alternative"):
                alternative_choose(session=session, actor=outsider, alternative_uuid=alternative.uuid)
            with pytest.raises(NotFound):
                advocacy_record(
                    session=session, actor=outsider, patient_uuid=patient.uuid, kind="letter", action="x"
                )
            assert authorizations_due(session=session, actor=outsider, within_days=365) == []
        with pytest.raises(NotFound, match="goal"):
            alternative_link_goal(
                session=session, actor=casey, alternative_uuid=alternative.uuid, goal_uuid=request.uuid
            )
        with pytest.raises(InvalidInput, match="0 to 365") as horizon:
            authorizations_due(session=session, actor=casey, within_days=400)
        assert horizon.value.where == "within days"

        second_patient = make_patient(session, place.org, family="Roe")
        assign(session, place.org, place.casey, second_patient)
        urgent = authorization_create(
            session=session,
            actor=casey,
            patient_uuid=second_patient.uuid,
            fields=_fields(urgent=True, payer_kind=PayerKind.MEDICAID_MANAGED_CARE, payer_name="State Care"),
        )
        authorization_submit(session=session, actor=casey, authorization_uuid=urgent.uuid)
        assert urgent.decision_due_on == date(2025, 6, 5), "expedited: 72 hours"
    with frozen_at(datetime(2025, 6, 10, 14, 0, tzinfo=UTC)):
        due = authorizations_due(session=session, actor=casey, within_days=30)
        assert [(d.patient.uuid, d.deadline.kind, d.deadline.on, d.overdue) for d in due] == [
            (second_patient.uuid, DueKind.DECISION, date(2025, 6, 5), True),
            (patient.uuid, DueKind.APPEAL_DECISION, date(2025, 7, 2), False),
        ]
        assert due[0].days_left == -5
    operator = Actor.operator(patient.org_id, "tests")
    assert len(authorizations_due(session=session, actor=operator, within_days=30)) == 2
    events = session.scalars(
        select(AuthorizationEvent.to_status).where(AuthorizationEvent.authorization_id == urgent.id)
    ).all()
    assert events == ["draft", "submitted"]
