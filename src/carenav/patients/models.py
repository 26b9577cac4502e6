"""ORM tables of the patient record. One table per kind of fact; every imported row keeps its source."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carenav.db.mixins import KeyMixin, PatientOwnedMixin, SourceMixin, TenantMixin
from carenav.db.types import Base, JSONDocument, UTCDateTime
from carenav.patients.rules import display_name

CODE = 100
SYSTEM = 200
DISPLAY = 500


class Facility(KeyMixin, SourceMixin, Base):
    """A hospital, clinic or agency that care happens at (FHIR Organization other than our tenants)."""

    __tablename__ = "facilities"

    name: Mapped[str] = mapped_column(String(300))
    npi: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(50))


class Practitioner(KeyMixin, SourceMixin, Base):
    __tablename__ = "practitioners"

    family_name: Mapped[str | None] = mapped_column(String(200))
    given_names: Mapped[str | None] = mapped_column(String(200))
    prefix: Mapped[str | None] = mapped_column(String(50))
    npi: Mapped[str | None] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(200))


class Patient(KeyMixin, SourceMixin, Base):
    __tablename__ = "patients"

    birth_date: Mapped[date | None] = mapped_column(Date, index=True)
    administrative_sex: Mapped[str] = mapped_column(String(16), default="unknown")
    gender_identity: Mapped[str | None] = mapped_column(String(100))
    birth_sex: Mapped[str | None] = mapped_column(String(16))
    race: Mapped[str | None] = mapped_column(String(200))
    ethnicity: Mapped[str | None] = mapped_column(String(200))
    marital_status: Mapped[str | None] = mapped_column(String(50))
    preferred_language: Mapped[str | None] = mapped_column(String(35))
    preferred_language_display: Mapped[str | None] = mapped_column(String(100))
    interpreter_needed: Mapped[bool | None] = mapped_column(Boolean)
    preferred_contact_times: Mapped[str | None] = mapped_column(String(300))
    deceased: Mapped[bool] = mapped_column(Boolean, default=False)
    deceased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    names: Mapped[list[PatientName]] = relationship(
        order_by="PatientName.rank", cascade="all, delete-orphan", lazy="selectin"
    )
    identifiers: Mapped[list[PatientIdentifier]] = relationship(
        order_by="PatientIdentifier.rank", cascade="all, delete-orphan", lazy="selectin"
    )
    addresses: Mapped[list[PatientAddress]] = relationship(
        order_by="PatientAddress.rank", cascade="all, delete-orphan"
    )
    telecoms: Mapped[list[PatientTelecom]] = relationship(
        order_by="PatientTelecom.rank", cascade="all, delete-orphan"
    )

    @property
    def primary_name(self) -> PatientName | None:
        return self.names[0] if self.names else None

    @property
    def name_shown(self) -> str:
        """How the patient is named on screens and in lists: the primary name, or "(no name)"."""
        name = self.primary_name
        return display_name(name.given, name.family) if name else display_name(None, None)


class PatientName(PatientOwnedMixin, Base):
    __tablename__ = "patient_names"
    __table_args__ = (Index("ix_patient_names_family", "family"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    use: Mapped[str | None] = mapped_column(String(20))
    family: Mapped[str | None] = mapped_column(String(200))
    given: Mapped[str | None] = mapped_column(String(200))
    prefix: Mapped[str | None] = mapped_column(String(50))
    suffix: Mapped[str | None] = mapped_column(String(50))


class PatientIdentifier(PatientOwnedMixin, TenantMixin, Base):
    """MRNs with their assigning authority, payer member ids, Medicare MBIs and others."""

    __tablename__ = "patient_identifiers"
    __table_args__ = (Index("ix_patient_identifiers_lookup", "org_id", "value", "system"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(32), default="other")
    system: Mapped[str | None] = mapped_column(String(SYSTEM))
    value: Mapped[str] = mapped_column(String(200))
    assigner: Mapped[str | None] = mapped_column(String(200))


class PatientAddress(PatientOwnedMixin, Base):
    __tablename__ = "patient_addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    use: Mapped[str | None] = mapped_column(String(20))
    lines: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(String(100))
    district: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(50))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(50))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)


class PatientTelecom(PatientOwnedMixin, Base):
    __tablename__ = "patient_telecoms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    system: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(200))
    use: Mapped[str | None] = mapped_column(String(20))


class RelatedPerson(KeyMixin, SourceMixin, PatientOwnedMixin, Base):
    """Family, caregivers and emergency contacts."""

    __tablename__ = "related_persons"

    relationship_code: Mapped[str | None] = mapped_column(String(CODE))
    relationship_display: Mapped[str | None] = mapped_column(String(DISPLAY))
    is_caregiver: Mapped[bool] = mapped_column(Boolean, default=False)
    is_emergency_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)


class Coverage(KeyMixin, SourceMixin, PatientOwnedMixin, Base):
    __tablename__ = "coverages"

    status: Mapped[str] = mapped_column(String(20), default="active")
    plan_type: Mapped[str] = mapped_column(String(32))
    payer_name: Mapped[str | None] = mapped_column(String(300))
    plan_name: Mapped[str | None] = mapped_column(String(300))
    member_id: Mapped[str | None] = mapped_column(String(100))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)


class Encounter(KeyMixin, SourceMixin, PatientOwnedMixin, Base):
    __tablename__ = "encounters"
    __table_args__ = (
        *SourceMixin.__table_args__,
        Index("ix_encounters_patient_start", "patient_id", "period_start"),
    )
    # No index on patient_id alone: ix_encounters_patient_start leads with it.
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))

    status: Mapped[str] = mapped_column(String(20))
    encounter_class: Mapped[str] = mapped_column(String(10))
    type_system: Mapped[str | None] = mapped_column(String(SYSTEM))
    type_code: Mapped[str | None] = mapped_column(String(CODE))
    type_display: Mapped[str | None] = mapped_column(String(DISPLAY))
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id", ondelete="SET NULL"))
    facility_name: Mapped[str | None] = mapped_column(String(300))
    location: Mapped[str | None] = mapped_column(String(200))
    admit_source: Mapped[str | None] = mapped_column(String(CODE))
    admission_type: Mapped[str | None] = mapped_column(String(CODE))
    discharge_disposition_system: Mapped[str | None] = mapped_column(String(SYSTEM))
    discharge_disposition_code: Mapped[str | None] = mapped_column(String(CODE))
    discharge_disposition_display: Mapped[str | None] = mapped_column(String(DISPLAY))
    reason_code: Mapped[str | None] = mapped_column(String(CODE))
    reason_display: Mapped[str | None] = mapped_column(String(DISPLAY))
    visit_number: Mapped[str | None] = mapped_column(String(100))
    attending: Mapped[str | None] = mapped_column(String(300))

    diagnoses: Mapped[list[EncounterDiagnosis]] = relationship(
        order_by="EncounterDiagnosis.rank", cascade="all, delete-orphan"
    )


class EncounterDiagnosis(Base):
    __tablename__ = "encounter_diagnoses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id", ondelete="CASCADE"), index=True)
    condition_id: Mapped[int | None] = mapped_column(ForeignKey("conditions.id", ondelete="SET NULL"))
    rank: Mapped[int] = mapped_column(Integer, default=0)
    use: Mapped[str | None] = mapped_column(String(20))
    code_system: Mapped[str | None] = mapped_column(String(SYSTEM))
    code: Mapped[str | None] = mapped_column(String(CODE))
    display: Mapped[str | None] = mapped_column(String(DISPLAY))


class Condition(KeyMixin, SourceMixin, PatientOwnedMixin, Base):
    __tablename__ = "conditions"
    __table_args__ = (
        *SourceMixin.__table_args__,
        Index("ix_conditions_code", "code", "code_system"),
    )

    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id", ondelete="SET NULL"))
    code_system: Mapped[str | None] = mapped_column(String(SYSTEM))
    code: Mapped[str | None] = mapped_column(String(CODE))
    display: Mapped[str | None] = mapped_column(String(DISPLAY))
    # Every coding the source gave (a SNOMED CT code and its ICD-10-CM twin, say): [{system, code, display}]
    codings: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    clinical_status: Mapped[str | None] = mapped_column(String(20))
    verification_status: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40), default="problem-list-item")
    # A social-needs concern's SDOH domain (SDOH Clinical Care IG code: food-insecurity...)
    sdoh_domain: Mapped[str | None] = mapped_column(String(40))
    onset_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    abatement_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Observation(KeyMixin, SourceMixin, PatientOwnedMixin, Base):
    """A vital sign, lab result, survey answer or score, with its value in UCUM units where numeric."""

    __tablename__ = "observations"
    __table_args__ = (
        *SourceMixin.__table_args__,
        Index("ix_observations_patient_code_at", "patient_id", "code", "effective_at"),
    )
    # No index on patient_id alone: ix_observations_patient_code_at leads with it.
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))

    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(40))
    code_system: Mapped[str | None] = mapped_column(String(SYSTEM))
    code: Mapped[str | None] = mapped_column(String(CODE))
    display: Mapped[str | None] = mapped_column(String(DISPLAY))
    value_quantity: Mapped[float | None] = mapped_column(Float)
    value_unit: Mapped[str | None] = mapped_column(String(50))
    value_code_system: Mapped[str | None] = mapped_column(String(SYSTEM))
    value_code: Mapped[str | None] = mapped_column(String(CODE))
    value_display: Mapped[str | None] = mapped_column(String(DISPLAY))
    value_string: Mapped[str | None] = mapped_column(Text)
    value_boolean: Mapped[bool | None] = mapped_column(Boolean)
    interpretation: Mapped[str | None] = mapped_column(String(20))
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    components: Mapped[list[ObservationComponent]] = relationship(
        order_by="ObservationComponent.rank", cascade="all, delete-orphan"
    )


class ObservationComponent(Base):
    """A part of a panel observation: systolic and diastolic of a blood pressure, say."""

    __tablename__ = "observation_components"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    code_system: Mapped[str | None] = mapped_column(String(SYSTEM))
    code: Mapped[str | None] = mapped_column(String(CODE))
    display: Mapped[str | None] = mapped_column(String(DISPLAY))
    value_quantity: Mapped[float | None] = mapped_column(Float)
    value_unit: Mapped[str | None] = mapped_column(String(50))
    value_code_system: Mapped[str | None] = mapped_column(String(SYSTEM))
    value_code: Mapped[str | None] = mapped_column(String(CODE))
    value_display: Mapped[str | None] = mapped_column(String(DISPLAY))
    value_string: Mapped[str | None] = mapped_column(Text)


class Medication(KeyMixin, SourceMixin, PatientOwnedMixin, Base):
    """A medication order or statement (FHIR MedicationRequest), RxNorm coded where the source allows.

    ``dosage_instruction``: the order's first FHIR ``Dosage`` as received (timing, dose, as needed...);
    ``dosage_text`` and ``as_needed`` repeat two of its elements. ``reason_code``/``reason_display``: the
    order's ``reasonCode``, else the Condition its ``reasonReference`` names in the same bundle."""

    __tablename__ = "medications"

    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20))
    intent: Mapped[str] = mapped_column(String(20), default="order")
    code_system: Mapped[str | None] = mapped_column(String(SYSTEM))
    code: Mapped[str | None] = mapped_column(String(CODE))
    display: Mapped[str | None] = mapped_column(String(DISPLAY))
    authored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dosage_text: Mapped[str | None] = mapped_column(Text)
    as_needed: Mapped[bool | None] = mapped_column(Boolean)
    dosage_instruction: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    requester: Mapped[str | None] = mapped_column(String(300))
    reason_code: Mapped[str | None] = mapped_column(String(CODE))
    reason_display: Mapped[str | None] = mapped_column(String(DISPLAY))


class Allergy(KeyMixin, SourceMixin, PatientOwnedMixin, Base):
    __tablename__ = "allergies"

    code_system: Mapped[str | None] = mapped_column(String(SYSTEM))
    code: Mapped[str | None] = mapped_column(String(CODE))
    display: Mapped[str | None] = mapped_column(String(DISPLAY))
    clinical_status: Mapped[str | None] = mapped_column(String(20))
    verification_status: Mapped[str | None] = mapped_column(String(20))
    allergy_type: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(20))
    criticality: Mapped[str | None] = mapped_column(String(20))
    reaction: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Procedure(KeyMixin, SourceMixin, PatientOwnedMixin, Base):
    __tablename__ = "procedures"

    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20))
    code_system: Mapped[str | None] = mapped_column(String(SYSTEM))
    code: Mapped[str | None] = mapped_column(String(CODE))
    display: Mapped[str | None] = mapped_column(String(DISPLAY))
    performed_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    performed_end: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CareTeamMember(KeyMixin, SourceMixin, PatientOwnedMixin, Base):
    """One person on a patient's care team. A care manager member with a ``user_id`` puts the patient
    on that user's caseload. ``is_patient``: the patient themself takes part in their care team (FHIR
    CareTeam.participant.member is the Patient)."""

    __tablename__ = "care_team_members"

    role: Mapped[str] = mapped_column(String(32))
    role_display: Mapped[str | None] = mapped_column(String(DISPLAY))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id", ondelete="SET NULL"))
    related_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("related_persons.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(300))
    organization_name: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(50))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_patient: Mapped[bool] = mapped_column(Boolean, default=False)


__all__ = [
    "Allergy",
    "CareTeamMember",
    "Condition",
    "Coverage",
    "Encounter",
    "EncounterDiagnosis",
    "Facility",
    "Medication",
    "Observation",
    "ObservationComponent",
    "Patient",
    "PatientAddress",
    "PatientIdentifier",
    "PatientName",
    "PatientTelecom",
    "Practitioner",
    "Procedure",
    "RelatedPerson",
    "TenantMixin",
]
