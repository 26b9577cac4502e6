"""Cross-check of the Charlson definition against the peer package comorbidipy (0.8.0) on >= 10,000 patients.

The population: 10,000 generated patients (``carenav.synth``, fixed seed), written as Bulk Data NDJSON, with
30 % of the conditions whose ICD-10-CM code is the target of a crosswalk row rewritten as SNOMED-CT-only
records (the crosswalk must bring them back), plus 2,000 "sweep" patients whose diagnoses are drawn from
every prefix of the Quan 2005 mapping, near misses next to them and random codes, with birthdays around
each age band, unknown birth dates, refuted conditions and onsets after as-of.

Ours: the Bulk Data snapshot and the DuckDB engine (``crosswalk`` + ``charlson``), as ``carenav stratify
--from`` runs them. comorbidipy: in its own venv (Python 3.13, ``make peers``), as a subprocess, on the
ICD-10-CM codes of the same diagnoses (the ICD-10 twin of a SNOMED-only record, dot-less), built here
from the FHIR resources independently of our snapshot, and the same ages. The test checks first that this
input is exactly what our ``dx_as_of`` view counts, then compares per patient ``charlson`` (1987 weights),
``charlson_quan2011`` and ``charlson_age_adjusted`` and the categories counted after the hierarchy.

A difference must be reproduced exactly by one of comorbidipy's documented deviations from the published
source (``DEVIATIONS``, docs/stratification.md "Cross-checks"), else the test fails.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from carenav.analytics.definition import read_reference_table
from carenav.analytics.definitions import ordered
from carenav.analytics.definitions.charlson import CHARLSON
from carenav.analytics.definitions.crosswalk import CROSSWALK, DX_AS_OF_SQL, DX_ICD10_SQL
from carenav.analytics.engines.duckdb_engine import DuckDBEngine
from carenav.analytics.sources.bulk_ndjson import write_bulk_snapshot
from carenav.synth.generate import DEFAULT_AS_OF, iter_patients
from tests.databases import IN_CI

ROOT = Path(__file__).resolve().parents[2]
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
COMORBIDIPY_SCRIPT = ROOT / "bench" / "peers" / "comorbidipy_charlson.py"
TABLES = ROOT / "src" / "carenav" / "analytics" / "tables"

AS_OF = DEFAULT_AS_OF
SEED = 11
GENERATED = 10_000
SWEEP = 2_000
SNOMED_SHARE = 0.3
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
NOT_DIAGNOSES = {"refuted", "entered-in-error"}


def _weights() -> dict[str, tuple[int, int]]:
    header, rows = read_reference_table(TABLES / "charlson_weights.csv")
    at = {name: i for i, name in enumerate(header)}
    return {
        str(r[at["category"]]): (int(str(r[at["charlson1987"]])), int(str(r[at["quan2011"]]))) for r in rows
    }


WEIGHTS = _weights()

# comorbidipy's deviations from the published source, as changes to our weights:
# name -> (score column it affects, weights overridden: category -> (1987 weight, Quan 2011 weight)).
DEVIATIONS: dict[str, tuple[str, dict[str, tuple[int, int]]]] = {
    # comorbidipy 0.8.0 (codemaps/weights.py, "quan") weighs AIDS/HIV 2 in the Quan 2011 weights;
    # Quan H et al., Am J Epidemiol 2011;173:676, Table 3, gives 4 (R comorbidity corrected it in 2022).
    "quan2011-aids-weight-2": ("charlson_quan2011", {"aids": (WEIGHTS["aids"][0], 2)}),
}


# --------------------------------------------------------------------------- the population


def _day(text: str | None) -> date | None:
    """A FHIR date or dateTime as its UTC date (a date alone as given; partial dates to their first day)."""
    if not text:
        return None
    if len(text) <= 10:
        return date.fromisoformat((text + "-01-01")[:10] if len(text) == 4 else (text + "-01")[:10])
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def _age(birth: date | None, died: date | None) -> int | None:
    """Whole years at as-of, or at death for the dead (as ``patient_age`` defines it)."""
    if birth is None:
        return None
    at = died if died is not None and died < AS_OF else AS_OF
    return at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))


def _snomed_for_icd10() -> dict[str, str]:
    """ICD-10-CM code -> one SNOMED CT code the crosswalk maps to exactly it (the smallest, for stability)."""
    header, rows = read_reference_table(TABLES / "snomed_icd10.csv")
    at = {name: i for i, name in enumerate(header)}
    inverse: dict[str, str] = {}
    for row in rows:
        icd, snomed = str(row[at["icd10_code"]]), str(row[at["snomed_code"]])
        if icd not in inverse or int(snomed) < int(inverse[icd]):
            inverse[icd] = snomed
    return inverse


def _dotted(code: str) -> str:
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _quan_prefixes() -> list[str]:
    header, rows = read_reference_table(TABLES / "charlson_quan2005.csv")
    return sorted({str(r[header.index("prefix")]) for r in rows})


def _sweep_patients(count: int, seed: int) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Patients whose diagnoses reach every prefix of the mapping, the codes beside them and random codes;
    ages around every age-point boundary, unknown birth dates, refuted diagnoses, onsets after as-of."""
    rng = random.Random(seed)
    prefixes = _quan_prefixes()
    tail = "0123456789X"
    for index in range(count):
        pid = f"sweep-{index:05d}"
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": pid,
            "gender": rng.choice(["male", "female"]),
        }
        if rng.random() > 0.03:
            years = rng.choice([rng.randint(18, 100), rng.choice([49, 50, 59, 60, 69, 70, 79, 80])])
            birth = AS_OF.replace(year=AS_OF.year - years) + timedelta(days=rng.choice([-1, 0, 1, 90]))
            patient["birthDate"] = birth.isoformat()
        conditions = []
        for number in range(rng.choice([1, 1, 2, 3, 4, 6, 9])):
            kind = rng.random()
            if kind < 0.7:
                code = rng.choice(prefixes) + "".join(rng.choice(tail) for _ in range(rng.randint(0, 2)))
            elif kind < 0.85:  # a near miss: the last character of a prefix changed
                prefix = rng.choice(prefixes)
                code = prefix[:-1] + rng.choice(tail.replace(prefix[-1], "")) + rng.choice(["", "9"])
            else:
                code = (
                    rng.choice("ABCDEFGHIJKLMNOPQRSTUVWZ")
                    + f"{rng.randint(0, 99):02d}"
                    + rng.choice(["", "9"])
                )
            onset = AS_OF - timedelta(days=rng.randint(-40, 4000))
            condition: dict[str, Any] = {
                "resourceType": "Condition",
                "id": f"{pid}-c{number}",
                "subject": {"reference": f"Patient/{pid}"},
                "code": {"coding": [{"system": ICD10CM, "code": _dotted(code[:7])}]},
                "clinicalStatus": {"coding": [{"code": rng.choice(["active", "resolved", "inactive"])}]},
                "onsetDateTime": onset.isoformat(),
            }
            if rng.random() < 0.05:
                condition["verificationStatus"] = {"coding": [{"code": rng.choice(sorted(NOT_DIAGNOSES))}]}
            conditions.append(condition)
        yield {"Patient": [patient], "Condition": conditions}


@dataclass
class Peers:
    """Per patient: our scores and comorbidipy's; the inputs both were given; counts about the population."""

    ours: dict[str, dict[str, Any]]
    theirs: dict[str, dict[str, Any]]
    peer_input: set[tuple[str, str]]
    dx_as_of: set[tuple[str, str]]
    snomed_only: int
    patients_with_snomed_charlson: int
    run: dict[str, Any]


def _write_population(folder: Path) -> tuple[list[dict[str, Any]], int]:
    """The NDJSON folder; returns comorbidipy's input rows and how many conditions were made SNOMED-only."""
    rng = random.Random(SEED)
    snomed_for = _snomed_for_icd10()
    rows: list[dict[str, Any]] = []
    snomed_only = 0
    handles = {t: (folder / f"{t}.ndjson").open("w") for t in ("Patient", "Condition", "Encounter")}
    try:
        bundles = [
            *iter_patients(seed=SEED, start=0, stop=GENERATED, as_of=AS_OF),
            *_sweep_patients(SWEEP, SEED),
        ]
        for bundle in bundles:
            patient = bundle["Patient"][0]
            pid = str(patient["id"])
            age = _age(_day(patient.get("birthDate")), _day(patient.get("deceasedDateTime")))
            rows.append({"id": pid, "code": "", "age": age})
            starts = {
                str(e["id"]): _day(e.get("period", {}).get("start")) for e in bundle.get("Encounter", [])
            }
            for encounter in bundle.get("Encounter", []):
                handles["Encounter"].write(json.dumps(encounter) + "\n")
            for condition in bundle.get("Condition", []):
                icd = [c for c in condition["code"]["coding"] if c.get("system") == ICD10CM]
                if not icd:
                    continue
                code = str(icd[0]["code"]).replace(".", "").upper().strip()
                if code in snomed_for and rng.random() < SNOMED_SHARE:
                    condition = {
                        **condition,
                        "code": {"coding": [{"system": SNOMED, "code": snomed_for[code]}]},
                    }
                    snomed_only += 1
                handles["Condition"].write(json.dumps(condition) + "\n")
                verification = condition.get("verificationStatus", {}).get("coding", [{}])[0].get("code")
                if verification in NOT_DIAGNOSES:
                    continue
                encounter = condition.get("encounter", {}).get("reference", "").rsplit("/", 1)[-1]
                onset = (
                    _day(condition.get("onsetDateTime"))
                    or _day(condition.get("onsetPeriod", {}).get("start"))
                    or _day(condition.get("recordedDate"))
                    or starts.get(encounter)
                )
                if onset is None or onset <= AS_OF:
                    rows.append({"id": pid, "code": code, "age": age})
            handles["Patient"].write(json.dumps(patient) + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    return rows, snomed_only


def _our_dx_as_of(snapshot: Path) -> set[tuple[str, str]]:
    """(patient, code) of every diagnosis our ``dx_as_of`` view counts, from the snapshot."""
    con = duckdb.connect()
    try:
        for table in ("patients", "diagnoses"):
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{snapshot / table}.parquet')")  # noqa: S608
        header, rows = read_reference_table(TABLES / "snomed_icd10.csv")
        con.register("crosswalk_rows", pa.table({c: [r[i] for r in rows] for i, c in enumerate(header)}))
        con.execute("CREATE TABLE snomed_icd10 AS SELECT * FROM crosswalk_rows")
        con.execute(f"CREATE TABLE params AS SELECT DATE '{AS_OF.isoformat()}' AS as_of")
        con.execute(f"CREATE TABLE dx_icd10 AS {DX_ICD10_SQL}")
        return {
            (str(p), str(c))
            for p, c in con.execute(f"SELECT patient_id, code FROM ({DX_AS_OF_SQL})").fetchall()  # noqa: S608
        }
    finally:
        con.close()


def run_comorbidipy(source: Path, target: Path) -> dict[str, Any]:
    """comorbidipy in the peers venv on ``source`` (id, code, age) -> ``target``; its timing line."""
    done = subprocess.run(
        [str(PEERS_PYTHON), str(COMORBIDIPY_SCRIPT), str(source), str(target)],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert done.returncode == 0, f"comorbidipy failed:\n{done.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Peers:
    if not PEERS_PYTHON.exists():
        message = f"the peers venv is missing ({PEERS_PYTHON}): run `make peers`"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("peer-charlson")
    folder, snapshot = work / "ndjson", work / "snapshot"
    folder.mkdir()
    rows, snomed_only = _write_population(folder)
    write_bulk_snapshot(folder, snapshot, memory_limit="1GB")
    result = DuckDBEngine(threads=os.cpu_count() or 1, memory_limit="1GB").run(
        snapshot=snapshot, as_of=AS_OF, definitions=ordered([CROSSWALK, CHARLSON])
    )
    ours = {str(r["patient_id"]): r for r in result.scores.to_pylist()}
    snomed_patients = {
        str(r["patient_id"])
        for r in result.evidence.to_pylist()
        if r["model"] == "charlson" and r["points"] > 0 and "from SNOMED CT" in str(r["evidence"])
    }
    source, target = work / "comorbidipy_in.parquet", work / "comorbidipy_out.parquet"
    pq.write_table(
        pa.Table.from_pylist(
            rows, schema=pa.schema([("id", pa.string()), ("code", pa.string()), ("age", pa.int64())])
        ),
        source,
    )
    run = run_comorbidipy(source, target)
    theirs = {str(r["id"]): r for r in pq.read_table(target).to_pylist()}
    return Peers(
        ours=ours,
        theirs=theirs,
        peer_input={(r["id"], r["code"]) for r in rows if r["code"]},
        dx_as_of=_our_dx_as_of(snapshot),
        snomed_only=snomed_only,
        patients_with_snomed_charlson=len(snomed_patients),
        run=run,
    )


# --------------------------------------------------------------------------- comparing


SCORES = ("charlson", "charlson_quan2011", "charlson_age_adjusted")


def _rescored(categories: set[str], age_points: int, weights: dict[str, tuple[int, int]]) -> dict[str, int]:
    original = sum(weights[c][0] for c in categories)
    return {
        "charlson": original,
        "charlson_quan2011": sum(weights[c][1] for c in categories),
        "charlson_age_adjusted": original + age_points,
    }


def explain(ours: dict[str, Any], theirs: dict[str, Any]) -> str | None:
    """``equal``; the deviation(s) that reproduce comorbidipy's scores exactly from our categories;
    None when nothing documented does."""
    our_categories = {c for c in str(ours["charlson_categories"]).split(";") if c}
    their_categories = {c for c in WEIGHTS if theirs[c]}
    if our_categories != their_categories:
        return None  # no deviation changes which categories count
    got = {s: int(theirs[s]) for s in SCORES}
    if got == {s: int(ours[s]) for s in SCORES}:
        return "equal"
    age_points = int(ours["charlson_age_adjusted"]) - int(ours["charlson"])
    weights = dict(WEIGHTS)
    names = []
    for name, (_score, override) in DEVIATIONS.items():
        weights.update(override)
        names.append(name)
        if _rescored(our_categories, age_points, weights) == got:
            return " + ".join(names)
    return None


def test_comorbidipy_got_exactly_the_diagnoses_our_view_counts(peers: Peers) -> None:
    assert peers.snomed_only > 1_000
    assert peers.peer_input == peers.dx_as_of


def test_comorbidipy_agrees_or_differs_only_in_documented_classes(peers: Peers) -> None:
    classes: Counter[str] = Counter()
    unexplained: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for pid, ours in peers.ours.items():
        theirs = peers.theirs.get(pid)
        assert theirs is not None, f"comorbidipy did not score {pid}"
        found = explain(ours, theirs)
        if found is None:
            unexplained.append((pid, ours, theirs))
        else:
            classes[found] += 1
    print(
        f"\ncomorbidipy {peers.run['comorbidipy']} cross-check: {len(peers.ours)} patients, {dict(classes)}; "
        f"{peers.snomed_only} SNOMED-only conditions, {peers.patients_with_snomed_charlson} patients "
        "scored through SNOMED CT codes"
    )
    assert len(peers.ours) == len(peers.theirs) == GENERATED + SWEEP
    assert unexplained[:5] == []
    assert classes["equal"] > 0.9 * len(peers.ours)
    # every documented class is reached by this population (else the check would prove nothing)
    assert set(classes) == {"equal", *DEVIATIONS}
    assert peers.patients_with_snomed_charlson > 100


def test_explain_fails_on_an_undocumented_difference() -> None:
    ours = {
        "charlson": 2,
        "charlson_quan2011": 1,
        "charlson_age_adjusted": 4,
        "charlson_categories": "diabwc",
    }
    theirs: dict[str, Any] = dict.fromkeys(WEIGHTS, 0) | {"diabwc": 1}
    assert (
        explain(ours, theirs | {"charlson": 2, "charlson_quan2011": 1, "charlson_age_adjusted": 4}) == "equal"
    )
    assert explain(ours, theirs | {"charlson": 2, "charlson_quan2011": 1, "charlson_age_adjusted": 3}) is None
    assert (
        explain(ours, theirs | {"charlson": 2, "charlson_quan2011": 1, "charlson_age_adjusted": 4, "diab": 1})
        is None
    )
    aids = {"charlson": 6, "charlson_quan2011": 4, "charlson_age_adjusted": 6, "charlson_categories": "aids"}
    their_aids = dict.fromkeys(WEIGHTS, 0) | {"aids": 1, "charlson": 6, "charlson_age_adjusted": 6}
    assert explain(aids, their_aids | {"charlson_quan2011": 2}) == "quan2011-aids-weight-2"
    assert explain(aids, their_aids | {"charlson_quan2011": 3}) is None
