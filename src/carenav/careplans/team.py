"""The patient's care team as the care manager keeps it: members with their role (care manager, PCP,
specialists, pharmacist, social worker, home health, a community organization's contact, family
caregivers), contact details and period; imported members stay as imported. Every change is audited."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from carenav.access import Actor, patient_row, patient_visible, record_in_reach
from carenav.audit.services import audit_patient_row
from carenav.clock import today
from carenav.db.mixins import LOCAL_SOURCE
from carenav.errors import InvalidInput, RuleViolation
from carenav.patients.models import CareTeamMember, Patient, RelatedPerson
from carenav.patients.rules import CareTeamRole


def care_team_member_add(
    *,
    session: Session,
    actor: Actor,
    patient_uuid: str,
    role: CareTeamRole,
    name: str,
    phone: str | None = None,
    organization_name: str | None = None,
    role_display: str | None = None,
    related_person_uuid: str | None = None,
    start: date | None = None,
) -> CareTeamMember:
    """A new member of the patient's care team (a family caregiver may be one of their related persons)."""
    patient = patient_visible(session=session, actor=actor, patient_uuid=patient_uuid)
    if not name.strip():
        raise InvalidInput("a care-team member needs a name", where="care team")
    related_id = None
    if related_person_uuid is not None:
        related = patient_row(
            session=session,
            model=RelatedPerson,
            uuid=related_person_uuid,
            patient=patient,
            what="related person",
        )
        related_id = related.id
    member = CareTeamMember(
        org_id=patient.org_id,
        patient_id=patient.id,
        source_system=LOCAL_SOURCE,
        role=role.value,
        role_display=(role_display or "").strip() or None,
        related_person_id=related_id,
        name=name.strip(),
        phone=(phone or "").strip() or None,
        organization_name=(organization_name or "").strip() or None,
        period_start=start or today(),
        active=True,
    )
    session.add(member)
    session.flush()
    _audit(session, actor, patient, member, "care-team-add", f"{member.role}: {member.name}")
    return member


def care_team_member_end(
    *, session: Session, actor: Actor, member_uuid: str, note: str | None = None
) -> CareTeamMember:
    """The member leaves the care team today (kept, with the period closed)."""
    member, patient = record_in_reach(
        session=session, actor=actor, model=CareTeamMember, uuid=member_uuid, what="care-team member"
    )
    if not member.active:
        raise RuleViolation(f"{member.name} has left the care team already", where="care team")
    member.active = False
    member.period_end = today()
    _audit(
        session,
        actor,
        patient,
        member,
        "care-team-end",
        f"{member.role}: {member.name}" + (f"; {note}" if note else ""),
    )
    return member


def _audit(
    session: Session, actor: Actor, patient: Patient, member: CareTeamMember, action: str, detail: str
) -> None:
    audit_patient_row(session, actor, patient.uuid, member, action, detail)
