"""The snapshot of a FHIR Bulk Data NDJSON folder (``carenav export``, ``carenav synth``, a payer's bulk
export), never imported: DuckDB reads the NDJSON files as a stream (bounded memory, spilling to disk) and
writes the Parquet snapshot, so a million patients never pass through Python objects.

Files: ``<Type>.ndjson`` and ``<Type>.<n>.ndjson`` for Patient, Condition, Encounter, Coverage and
MedicationRequest (a missing type is an empty table; Patient is required). The values are normalised as
the importer does (``carenav.analytics.sources.normalise``): the ICD-10-CM coding of a condition before
its SNOMED CT one, then WHO ICD-10; instants to their UTC date; partial dates to their first day; refuted
and entered-in-error conditions and cancelled, planned or entered-in-error encounters left out.
Coverage plan type: carenav's plan-type coding, else Synthea's ``type.text``; otherwise ``other``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from carenav.analytics.snapshot import PARQUET_SUFFIX, SNAPSHOT_SCHEMA
from carenav.analytics.sources.normalise import (
    ADMISSION_TYPES,
    ED_ADMIT_SOURCES,
    ICD10,
    ICD10CM,
    SNOMED,
    sql_map,
)
from carenav.errors import InvalidInput
from carenav.patients.rules import PlanType

PLAN_TYPE_SYSTEM = "https://carenav.org/fhir/CodeSystem/plan-type"
SYNTHEA_PLAN_TEXT = {
    "private": PlanType.COMMERCIAL.value,
    "medicare": PlanType.MEDICARE_FFS.value,
    "medicaid": PlanType.MEDICAID.value,
    "dual_eligible": PlanType.DUAL.value,
    "no_insurance": PlanType.UNINSURED.value,
}
RESOURCE_TYPES = ("Patient", "Condition", "Encounter", "Coverage", "MedicationRequest")

CODING = "STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)"
CONCEPT = f"STRUCT(coding {CODING}[], text VARCHAR)"
REFERENCE = "STRUCT(reference VARCHAR, display VARCHAR)"
PERIOD = 'STRUCT("start" VARCHAR, "end" VARCHAR)'

COLUMNS: dict[str, dict[str, str]] = {
    "Patient": {
        "id": "VARCHAR",
        "gender": "VARCHAR",
        "birthDate": "VARCHAR",
        "deceasedBoolean": "BOOLEAN",
        "deceasedDateTime": "VARCHAR",
    },
    "Condition": {
        "id": "VARCHAR",
        "subject": REFERENCE,
        "encounter": REFERENCE,
        "code": CONCEPT,
        "clinicalStatus": CONCEPT,
        "verificationStatus": CONCEPT,
        "onsetDateTime": "VARCHAR",
        "onsetPeriod": PERIOD,
        "recordedDate": "VARCHAR",
        "abatementDateTime": "VARCHAR",
        "abatementPeriod": PERIOD,
    },
    "Encounter": {
        "id": "VARCHAR",
        "status": "VARCHAR",
        "class": CODING,
        "subject": REFERENCE,
        "period": PERIOD,
        "priority": CONCEPT,
        "hospitalization": f"STRUCT(admitSource {CONCEPT}, dischargeDisposition {CONCEPT})",
        "serviceProvider": REFERENCE,
    },
    "Coverage": {
        "id": "VARCHAR",
        "status": "VARCHAR",
        "beneficiary": REFERENCE,
        "type": CONCEPT,
        "period": PERIOD,
    },
    "MedicationRequest": {
        "id": "VARCHAR",
        "status": "VARCHAR",
        "subject": REFERENCE,
        "authoredOn": "VARCHAR",
        "medicationCodeableConcept": CONCEPT,
    },
}


def _ref(column: str) -> str:
    """The id of a reference (``Patient/x``, ``urn:uuid:x``)."""
    return f"regexp_extract({column}.reference, '([^/:]+)$', 1)"


def _padded(text: str) -> str:
    return f"CASE length({text}) WHEN 4 THEN {text} || '-01-01' WHEN 7 THEN {text} || '-01' ELSE {text} END"


def _ts(text: str) -> str:
    """A FHIR dateTime as a UTC timestamp (a date alone is 00:00 UTC)."""
    return f"CAST(TRY_CAST({_padded(text)} AS TIMESTAMPTZ) AS TIMESTAMP)"


def _date(text: str) -> str:
    return f"CAST({_ts(text)} AS DATE)"


def _first_code(concept: str) -> str:
    return f"{concept}.coding[1].code"


def _quote(value: str) -> str:
    return value.replace("'", "''")


def source_files(folder: Path, resource_type: str) -> list[Path]:
    return sorted({*folder.glob(f"{resource_type}.ndjson"), *folder.glob(f"{resource_type}.*.ndjson")})


def _reader(files: list[Path], resource_type: str) -> str:
    names = ", ".join(f"'{_quote(str(f))}'" for f in files)
    columns = ", ".join(f"'{name}': '{_quote(kind)}'" for name, kind in COLUMNS[resource_type].items())
    return (
        f"read_json([{names}], format = 'newline_delimited', columns = {{{columns}}}, "
        "maximum_object_size = 67108864)"
    )


def _selects(folder: Path) -> dict[str, str]:
    files = {rtype: source_files(folder, rtype) for rtype in RESOURCE_TYPES}
    if not files["Patient"]:
        raise InvalidInput("no Patient.ndjson: not a Bulk Data folder", where=str(folder))
    src = {rtype: _reader(found, rtype) if found else None for rtype, found in files.items()}
    chosen = " , ".join(
        f"[x FOR x IN code.coding IF x.system = '{system}' AND x.code IS NOT NULL][1]"
        for system in (ICD10CM, SNOMED, ICD10)
    )
    systems = (
        f"CASE chosen.system WHEN '{ICD10CM}' THEN 'icd10cm' WHEN '{ICD10}' THEN 'icd10cm' "
        f"WHEN '{SNOMED}' THEN 'snomed' ELSE 'other' END"
    )
    admission = sql_map(
        "upper(trim(coalesce(priority.coding[1].code, priority.text)))", ADMISSION_TYPES, "'other'"
    )
    ed_sources = ", ".join(f"'{code}'" for code in sorted(ED_ADMIT_SOURCES))
    plan_text = sql_map("lower(trim(type.text))", SYNTHEA_PLAN_TEXT, "'other'")
    plan_types = ", ".join(f"'{p.value}'" for p in PlanType)
    selects: dict[str, str] = {
        "patients": f"""
            SELECT id AS patient_id, TRY_CAST({_padded("birthDate")} AS DATE) AS birth_date,
                   coalesce(gender, 'unknown') AS sex,
                   coalesce(deceasedBoolean, FALSE) OR deceasedDateTime IS NOT NULL AS deceased,
                   {_date("deceasedDateTime")} AS deceased_date
            FROM {src["Patient"]}""",
    }
    encounters = None
    if src["Encounter"]:
        admit = "coalesce(hospitalization.admitSource.coding[1].code, hospitalization.admitSource.text)"
        encounters = f"""
            SELECT {_ref("subject")} AS patient_id, id AS encounter_id, "class".code AS "class",
                   {_ts('period."start"')} AS start_ts, {_ts('period."end"')} AS end_ts,
                   CASE WHEN coalesce(priority.coding[1].code, priority.text) IS NULL THEN NULL
                        ELSE {admission} END AS admission_type,
                   hospitalization.dischargeDisposition.coding[1].code AS discharge_disposition,
                   serviceProvider.display AS facility,
                   {admit} AS admit_source,
                   coalesce(trim({admit}) IN ({ed_sources}), FALSE) AS admitted_via_ed
            FROM {src["Encounter"]}
            WHERE coalesce(status, '') NOT IN ('cancelled', 'entered-in-error', 'planned')"""
        selects["encounters"] = encounters
    if src["Condition"]:
        encounter_start = (
            f"(SELECT encounter_id, start_ts FROM ({encounters}))"
            if encounters
            else "(SELECT CAST(NULL AS VARCHAR) AS encounter_id, CAST(NULL AS TIMESTAMP) AS start_ts)"
        )
        selects["diagnoses"] = f"""
            SELECT c.patient_id, {systems.replace("chosen.", "c.chosen.")} AS system,
                   CASE WHEN {systems.replace("chosen.", "c.chosen.")} = 'icd10cm'
                        THEN upper(replace(trim(c.chosen.code), '.', ''))
                        ELSE trim(c.chosen.code) END AS code,
                   c.chosen.display AS display,
                   coalesce(c.onset, CAST(e.start_ts AS DATE)) AS onset_date,
                   c.abatement AS abatement_date,
                   coalesce(c.clinical IN ('active', 'recurrence', 'relapse'), c.clinical IS NULL) AS active,
                   c.encounter_id
            FROM (
                SELECT {_ref("subject")} AS patient_id,
                       coalesce({chosen}, [x FOR x IN code.coding IF x.code IS NOT NULL][1]) AS chosen,
                       coalesce({_date("onsetDateTime")}, {_date('onsetPeriod."start"')},
                                {_date("recordedDate")}) AS onset,
                       coalesce({_date("abatementDateTime")},
                                {_date('abatementPeriod."start"')}) AS abatement,
                       {_first_code("clinicalStatus")} AS clinical,
                       {_first_code("verificationStatus")} AS verification,
                       CASE WHEN encounter.reference IS NULL THEN NULL ELSE {_ref("encounter")} END
                           AS encounter_id
                FROM {src["Condition"]}
            ) AS c
            LEFT JOIN {encounter_start} AS e ON e.encounter_id = c.encounter_id
            WHERE c.chosen.code IS NOT NULL
              AND coalesce(c.verification, '') NOT IN ('refuted', 'entered-in-error')"""
    if src["Coverage"]:
        carenav_code = f"[x FOR x IN type.coding IF x.system = '{PLAN_TYPE_SYSTEM}'][1].code"
        selects["coverages"] = f"""
            SELECT {_ref("beneficiary")} AS patient_id,
                   CASE WHEN {carenav_code} IN ({plan_types}) THEN {carenav_code} ELSE {plan_text} END
                       AS plan_type,
                   {_date('period."start"')} AS start_date, {_date('period."end"')} AS end_date
            FROM {src["Coverage"]}
            WHERE coalesce(status, '') NOT IN ('cancelled', 'entered-in-error')"""
    if src["MedicationRequest"]:
        rx = "http://www.nlm.nih.gov/research/umls/rxnorm"
        coding = (
            "coalesce([x FOR x IN medicationCodeableConcept.coding"
            f" IF x.system = '{rx}' AND x.code IS NOT NULL][1],"
            " [x FOR x IN medicationCodeableConcept.coding IF x.code IS NOT NULL][1])"
        )
        selects["medications"] = f"""
            SELECT {_ref("subject")} AS patient_id, ({coding}).code AS code,
                   coalesce(({coding}).display, medicationCodeableConcept.text) AS display,
                   status, {_date("authoredOn")} AS authored_date
            FROM {src["MedicationRequest"]}"""
    return selects


def write_bulk_snapshot(folder: Path, directory: Path, *, memory_limit: str = "2GB") -> dict[str, int]:
    """Write the snapshot of the Bulk Data folder ``folder`` to ``directory``; row counts per table."""
    if not folder.is_dir():
        raise InvalidInput("folder does not exist", where=str(folder))
    selects = _selects(folder)
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="carenav-bulk-") as spill:
        con = duckdb.connect(":memory:")
        try:
            _run(con, f"SET memory_limit = '{memory_limit}'")
            _run(con, "SET preserve_insertion_order = false")
            _run(con, "SET TimeZone = 'UTC'")
            _run(con, f"SET temp_directory = '{_quote(spill)}'")
            for table, columns in SNAPSHOT_SCHEMA.items():
                target = directory / f"{table}{PARQUET_SUFFIX}"
                names = _output_names(con, selects[table]) if table in selects else set()
                typed = ", ".join(
                    f"CAST({'s.' + name if name in names else 'NULL'} AS {kind}) AS {name}"
                    for name, kind in columns.items()
                )
                body = (
                    f"({selects[table]}) AS s" if table in selects else "(SELECT 1 AS one) AS s WHERE FALSE"
                )
                try:
                    _run(
                        con, f"COPY (SELECT {typed} FROM {body}) TO '{_quote(str(target))}' (FORMAT parquet)"
                    )
                except duckdb.Error as exc:
                    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise InvalidInput(
                        f"cannot read the NDJSON for {table}: {reason}", where=str(folder)
                    ) from exc
                rows = con.execute(f"SELECT COUNT(*) FROM read_parquet('{_quote(str(target))}')").fetchall()
                counts[table] = int(rows[0][0])
        finally:
            con.close()
    return counts


def _output_names(con: duckdb.DuckDBPyConnection, select: str) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE {select}").fetchall()}


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Execute a statement and consume its result (DuckDB refuses new work while one is pending)."""
    con.execute(sql).fetchall()
