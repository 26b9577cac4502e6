"""A small record to read over FHIR: two organizations, users of each role, tokens, and patients.

Patients are made by the shared builders (through the real services); users, care-team members,
observations and the rest that the builders do not offer are added with the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.accounts.models import Organization, User
from carenav.accounts.tokens import api_token_create
from carenav.patients.models import (
    Allergy,
    CareTeamMember,
    Coverage,
    Encounter,
    Medication,
    Observation,
    ObservationComponent,
    Patient,
    Practitioner,
    Procedure,
    RelatedPerson,
)
from carenav.patients.rules import LOINC, RXNORM, SNOMED
from tests.builders import make_org, make_patient

SYSTOLIC = "8480-6"
DIASTOLIC = "8462-4"
BP_PANEL = "85354-9"
HBA1C = "4548-4"


def make_user(session: Session, org: Organization, username: str, role: str) -> User:
    user = User(org_id=org.id, username=username, display_name=username.title(), role=role, active=True)
    session.add(user)
    session.flush()
    return user


def assign_care_manager(session: Session, patient: Patient, user: User) -> CareTeamMember:
    member = CareTeamMember(
        org_id=patient.org_id,
        patient_id=patient.id,
        role="care_manager",
        user_id=user.id,
        name=user.display_name,
        active=True,
        period_start=date(2024, 1, 1),
    )
    session.add(member)
    session.flush()
    return member


def add_observation(
    session: Session,
    patient: Patient,
    *,
    code: str,
    at: datetime,
    value: float | None = None,
    unit: str | None = None,
    components: list[tuple[str, float, str]] | None = None,
    encounter: Encounter | None = None,
    category: str = "vital-signs",
) -> Observation:
    row = Observation(
        org_id=patient.org_id,
        patient_id=patient.id,
        encounter_id=encounter.id if encounter else None,
        status="final",
        category=category,
        code_system=LOINC,
        code=code,
        display=f"LOINC {code}",
        value_quantity=value,
        value_unit=unit,
        effective_at=at,
        issued_at=at,
        components=[
            ObservationComponent(
                rank=i, code_system=LOINC, code=c, display=f"LOINC {c}", value_quantity=v, value_unit=u
            )
            for i, (c, v, u) in enumerate(components or [])
        ],
    )
    session.add(row)
    session.flush()
    return row


def token_for(session: Session, user: User, *scopes: str, expires_days: int | None = None) -> str:
    actor = Actor.operator(user.org_id, "tests")
    return api_token_create(
        session=session, actor=actor, username=user.username, scopes=scopes, expires_days=expires_days
    ).secret


@dataclass
class World:
    org: Organization
    other_org: Organization
    users: dict[str, User]
    amy: Patient
    bob: Patient
    stranger: Patient
    tokens: dict[str, str] = field(default_factory=dict)
    rows: dict[str, Any] = field(default_factory=dict)


def build_world(session: Session) -> World:
    """Amy is on care manager Cara's caseload; Bob is not; the stranger lives in another organization."""
    org, other = make_org(session), make_org(session)
    users = {
        "admin": make_user(session, org, f"admin-{org.id}", "admin"),
        "cara": make_user(session, org, f"cara-{org.id}", "care_manager"),
        "auditor": make_user(session, org, f"audrey-{org.id}", "auditor"),
        "outsider": make_user(session, other, f"otto-{other.id}", "admin"),
    }
    amy = make_patient(
        session,
        org,
        family="Shaw",
        given="Amy V",
        birth_date=date(1957, 3, 2),
        sex="female",
        identifiers=[
            {"kind": "mrn", "value": "MRN-1001", "system": "urn:oid:1.2.36.146.595.217.0.1"},
            ("mbi", "1EG4-TE5-MK73"),
        ],
        conditions=[
            {
                "code": "44054006",
                "display": "Diabetes mellitus type 2",
                "clinical_status": "active",
                "onset_at": datetime(2015, 5, 1, tzinfo=UTC),
                "codings": [
                    {"system": SNOMED, "code": "44054006", "display": "Diabetes mellitus type 2"},
                    {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9"},
                ],
            },
            {
                "code": "38341003",
                "display": "Hypertension",
                "clinical_status": "active",
                "onset_at": datetime(2010, 1, 1, tzinfo=UTC),
            },
            {
                "code": "10509002",
                "display": "Acute bronchitis",
                "clinical_status": "resolved",
                "onset_at": datetime(2020, 2, 1, tzinfo=UTC),
                "abatement_at": datetime(2020, 3, 1, tzinfo=UTC),
            },
        ],
        coverages=[
            {
                "plan_type": "medicare_advantage",
                "payer_name": "Humana",
                "plan_name": "Gold Plus",
                "member_id": "H123",
                "period_start": date(2024, 1, 1),
            }
        ],
        encounters=[
            {
                "encounter_class": "AMB",
                "period_start": datetime(2024, 1, 10, 14, 0, tzinfo=UTC),
                "period_end": datetime(2024, 1, 10, 14, 30, tzinfo=UTC),
                "type_system": SNOMED,
                "type_code": "185349003",
                "type_display": "Encounter for check up",
            },
            {
                "encounter_class": "IMP",
                "period_start": datetime(2024, 3, 5, 8, 0, tzinfo=UTC),
                "period_end": datetime(2024, 3, 9, 12, 0, tzinfo=UTC),
                "facility_name": "General Hospital",
                "discharge_disposition_system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
                "discharge_disposition_code": "home",
                "discharge_disposition_display": "Home",
                "admission_type": "E",
                "attending": "Dr. Adams",
                "visit_number": "V-77",
            },
            {"encounter_class": "EMER", "period_start": datetime(2023, 6, 1, 22, 0, tzinfo=UTC)},
        ],
        marital_status="M",
        race="White",
        ethnicity="Not Hispanic or Latino",
        birth_sex="F",
        preferred_language="en-US",
        preferred_language_display="English (United States)",
    )
    bob = make_patient(session, org, family="Shawcross", given="Bob", birth_date=date(1940, 7, 4), sex="male")
    stranger = make_patient(session, other, family="Shaw", given="Stranger", birth_date=date(1960, 1, 1))
    assign_care_manager(session, amy, users["cara"])
    encounters = sorted(session.query(Encounter).filter_by(patient_id=amy.id), key=lambda e: e.period_start)
    emer, amb, imp = encounters
    rows: dict[str, Any] = {"amb": amb, "imp": imp, "emer": emer}
    for i, (day_, value) in enumerate(
        [(date(2023, 6, 1), 150.0), (date(2024, 1, 10), 138.0), (date(2024, 3, 6), 128.0)]
    ):
        rows[f"systolic{i}"] = add_observation(
            session,
            amy,
            code=SYSTOLIC,
            value=value,
            unit="mm[Hg]",
            at=datetime(day_.year, day_.month, day_.day, 9, 0, tzinfo=UTC),
            encounter=amb if i == 1 else None,
        )
    rows["bp"] = add_observation(
        session,
        amy,
        code=BP_PANEL,
        at=datetime(2024, 1, 10, 14, 5, tzinfo=UTC),
        encounter=amb,
        components=[(SYSTOLIC, 138.0, "mm[Hg]"), (DIASTOLIC, 85.0, "mm[Hg]")],
    )
    rows["hba1c"] = add_observation(
        session,
        amy,
        code=HBA1C,
        value=7.9,
        unit="%",
        category="laboratory",
        at=datetime(2024, 1, 10, 15, 0, tzinfo=UTC),
    )
    practitioner = Practitioner(
        org_id=org.id, family_name="Adams", given_names="Ann", prefix="Dr.", npi="1234567893"
    )
    session.add(practitioner)
    session.flush()
    common = {"org_id": org.id, "patient_id": amy.id}
    rows["practitioner"] = practitioner
    rows["medication"] = Medication(
        **common,
        status="active",
        code_system=RXNORM,
        code="860975",
        display="metformin 500 MG",
        authored_at=datetime(2024, 1, 10, tzinfo=UTC),
        dosage_text="1 tablet twice daily",
        as_needed=False,
        encounter_id=amb.id,
    )
    rows["allergy"] = Allergy(
        **common,
        code_system=SNOMED,
        code="91936005",
        display="Penicillin allergy",
        clinical_status="active",
        verification_status="confirmed",
        allergy_type="allergy",
        category="medication",
        criticality="high",
        reaction="Hives",
    )
    rows["procedure"] = Procedure(
        **common,
        status="completed",
        code_system=SNOMED,
        code="73761001",
        display="Colonoscopy",
        performed_start=datetime(2022, 5, 5, 10, tzinfo=UTC),
        performed_end=datetime(2022, 5, 5, 11, tzinfo=UTC),
    )
    rows["daughter"] = RelatedPerson(
        **common,
        relationship_code="DAU",
        relationship_display="daughter",
        is_caregiver=True,
        is_emergency_contact=True,
        name="Beth Shaw",
        phone="555-0100",
    )
    session.add_all([rows["medication"], rows["allergy"], rows["procedure"], rows["daughter"]])
    session.flush()
    session.add(
        CareTeamMember(**common, role="primary_care", practitioner_id=practitioner.id, name="Dr. Ann Adams")
    )
    session.add(
        CareTeamMember(**common, role="caregiver", related_person_id=rows["daughter"].id, name="Beth Shaw")
    )
    session.flush()
    rows["coverage"] = session.query(Coverage).filter_by(patient_id=amy.id).one()
    world = World(org=org, other_org=other, users=users, amy=amy, bob=bob, stranger=stranger, rows=rows)
    world.tokens = {
        "admin": token_for(session, users["admin"], "fhir:read"),
        "cara": token_for(session, users["cara"], "fhir:read", "fhir:export"),
        "auditor": token_for(session, users["auditor"], "fhir:read"),
        "outsider": token_for(session, users["outsider"], "fhir:read"),
        "export_only": token_for(session, users["admin"], "fhir:export"),
    }
    return world
