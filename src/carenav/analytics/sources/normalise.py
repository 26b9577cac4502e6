"""How source values become snapshot values; shared by every snapshot writer (pure, no I/O)."""

from __future__ import annotations

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"

DIAGNOSIS_SYSTEMS = {ICD10CM: "icd10cm", ICD10: "icd10cm", SNOMED: "snomed"}
"""Code system URI -> snapshot ``system``. WHO ICD-10 is read as ICD-10-CM: their codes agree to the
fourth character for every category the models use."""

DIAGNOSIS_PREFERENCE = (ICD10CM, SNOMED, ICD10)
"""Which coding of a condition the snapshot keeps when the source gives several (as the importer does)."""

ADMISSION_TYPES = {
    # v3 ActPriority (FHIR Encounter.priority)
    "EM": "emergency",
    "UR": "urgent",
    "EL": "elective",
    "R": "elective",
    # HL7 v2 table 0007 (PV1-4)
    "E": "emergency",
    "A": "emergency",
    "U": "urgent",
    "C": "elective",
    "L": "other",
    "N": "other",
    # words
    "EMERGENCY": "emergency",
    "URGENT": "urgent",
    "ELECTIVE": "elective",
    "ROUTINE": "elective",
}

ED_ADMIT_SOURCES = frozenset({"emd", "7", "ER", "ED"})
"""Admit sources that name the emergency department: FHIR admit-source ``emd``, HL7 v2 table 0023 ``7``."""

CONDITION_EXCLUDED = frozenset({"refuted", "entered-in-error"})
ACTIVE_STATUSES = frozenset({"active", "recurrence", "relapse"})


def diagnosis_code(system: str, code: str) -> str:
    """ICD-10-CM upper case without the dot; other systems as given (trimmed)."""
    code = code.strip()
    if system == "icd10cm":
        return code.replace(".", "").upper()
    return code


def admission_type(code: str | None) -> str | None:
    if not code:
        return None
    return ADMISSION_TYPES.get(code.strip().upper(), ADMISSION_TYPES.get(code.strip(), "other"))


def admitted_via_ed(admit_source: str | None) -> bool:
    return admit_source is not None and admit_source.strip() in ED_ADMIT_SOURCES


def condition_active(clinical_status: str | None) -> bool:
    """Active, recurrence, relapse or no status given."""
    return clinical_status is None or clinical_status in ACTIVE_STATUSES


def sql_map(column: str, mapping: dict[str, str], default: str = "NULL") -> str:
    """A SQL CASE that maps ``column`` through ``mapping`` (for writers that normalise in SQL)."""
    whens = " ".join(f"WHEN '{key}' THEN '{value}'" for key, value in mapping.items())
    return f"CASE {column} {whens} ELSE {default} END"
