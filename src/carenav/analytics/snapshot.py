"""The snapshot every definition reads: a few narrow tables, one schema whatever the source.

Sources: the record store (SQLite or PostgreSQL, read through SQLAlchemy) or a FHIR Bulk Data NDJSON
folder (``carenav stratify --from DIR``), written as Parquet files so that both engines read them.
Ids are FHIR ids (``Patient.id``), so results join back to the record and to the FHIR facade.
Codes are normalised on the way in: ICD-10-CM upper case without the dot (``E1122``), SNOMED CT as given.
"""

from __future__ import annotations

# Column name -> DuckDB type. The order is the order of the Parquet columns.
SNAPSHOT_SCHEMA: dict[str, dict[str, str]] = {
    # One row per patient. sex: male | female | other | unknown (FHIR administrative gender).
    "patients": {
        "patient_id": "VARCHAR",
        "birth_date": "DATE",
        "sex": "VARCHAR",
        "deceased": "BOOLEAN",
        "deceased_date": "DATE",
    },
    # One row per coded diagnosis: problem-list conditions and encounter diagnoses alike.
    # system: icd10cm | snomed | other. onset_date: onset, else recorded, else the encounter's start.
    # abatement_date: when it resolved, if it did. active: clinical status active/recurrence/relapse (or
    # no status given) and not refuted or entered in error. encounter_id: set for encounter diagnoses.
    # Refuted and entered-in-error diagnoses are left out of the snapshot altogether (they are not
    # diagnoses), so ``active = false`` means inactive, remission or resolved.
    "diagnoses": {
        "patient_id": "VARCHAR",
        "system": "VARCHAR",
        "code": "VARCHAR",
        "display": "VARCHAR",
        "onset_date": "DATE",
        "abatement_date": "DATE",
        "active": "BOOLEAN",
        "encounter_id": "VARCHAR",
    },
    # class: FHIR v3 ActCode (IMP, ACUTE, NONAC, OBSENC, EMER, AMB, HH, VR, ...).
    # admission_type: emergency | urgent | elective | other | NULL (how the admission came: for LACE "A").
    # admitted_via_ed: the stay began in the emergency department (an EMER encounter the same day, or
    # an admit source saying so). discharge_disposition: NUBC code where known.
    "encounters": {
        "patient_id": "VARCHAR",
        "encounter_id": "VARCHAR",
        "class": "VARCHAR",
        "start_ts": "TIMESTAMP",
        "end_ts": "TIMESTAMP",
        "admission_type": "VARCHAR",
        "discharge_disposition": "VARCHAR",
        "facility": "VARCHAR",
        # Added after the first version (appended, so older readers are unaffected):
        # admit_source as given (FHIR admit-source ``emd``, HL7 v2 table 0023 ``7``...), and
        # admitted_via_ed = that admit source names the emergency department.
        "admit_source": "VARCHAR",
        "admitted_via_ed": "BOOLEAN",
    },
    # plan_type: a carenav.patients.rules.PlanType value.
    "coverages": {
        "patient_id": "VARCHAR",
        "plan_type": "VARCHAR",
        "start_date": "DATE",
        "end_date": "DATE",
    },
    # status: FHIR MedicationRequest status (active, stopped, completed, ...).
    "medications": {
        "patient_id": "VARCHAR",
        "code": "VARCHAR",
        "display": "VARCHAR",
        "status": "VARCHAR",
        "authored_date": "DATE",
    },
    # Daily-living dependency recorded by an assessment (Katz ADL, later issue); may be empty.
    "functional_status": {
        "patient_id": "VARCHAR",
        "assessed_date": "DATE",
        "adl_dependent": "BOOLEAN",
    },
    # Institutional status where known (long-term institutional residence for the CMS-HCC segment).
    "residence": {
        "patient_id": "VARCHAR",
        "institutional": "BOOLEAN",
        "start_date": "DATE",
        "end_date": "DATE",
    },
}

PARAMS_SCHEMA = {"as_of": "DATE"}

SNAPSHOT_TABLES = tuple(SNAPSHOT_SCHEMA)
PARQUET_SUFFIX = ".parquet"
"""A snapshot is a directory holding ``<table>.parquet`` for every table of ``SNAPSHOT_SCHEMA``."""
