"""CMS-HCC V24 / V28 for one patient, in plain Python: explanations and the test oracle of the SQL.

It reads the same CSV tables as the SQL definitions (``tables/hcc_v24_*.csv``, ``tables/hcc_v28_*.csv``,
built from the CMS model software by ``scripts/build_hcc_tables.py``) and follows the CMS SAS macros
step by step (``V2419P1M`` / ``V2823T2M``): age/sex edits, ICD-10 to CC mapping, the V28 heart patch,
hierarchies applied rule by rule in the macro's order, interactions, payment-HCC counts, then the sum of
the relative factors of the patient's segment. The score is the raw model score (no normalisation, no
coding-intensity adjustment). See ``docs/hcc.md`` for how segments are derived from our data.

    model = load_model("v24")
    result = score_codes(model, codes=["E119", "I5022"], age=72, sex="F", segment="CNA")
    result.score  # 0.943
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

from carenav.analytics.definition import TABLES_DIR
from carenav.errors import InvalidInput

VERSIONS = ("v24", "v28")
SEGMENTS = ("CNA", "CND", "CFA", "CFD", "CPA", "CPD", "INS")
COMMUNITY_SEGMENTS = SEGMENTS[:6]
MEDICARE_PLANS = frozenset({"medicare_ffs", "medicare_advantage", "dual"})
MEDICAID_PLANS = frozenset({"medicaid", "dual"})
LOOKBACK_MONTHS = 12
DISABLED = "DISABLED"
# Age bands of the demographic cells (the disabled segments use the first five, the aged ones the rest).
AGE_BANDS = (
    (0, 34, "0_34"),
    (35, 44, "35_44"),
    (45, 54, "45_54"),
    (55, 59, "55_59"),
    (60, 64, "60_64"),
    (65, 69, "65_69"),
    (70, 74, "70_74"),
    (75, 79, "75_79"),
    (80, 84, "80_84"),
    (85, 89, "85_89"),
    (90, 94, "90_94"),
    (95, 999, "95_GT"),
)


def read_table(path: Path) -> list[dict[str, str]]:
    """A reference CSV: ``#`` lines (the source) first, then a header line and rows."""
    with path.open(newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines))


@dataclass(frozen=True)
class Edit:
    sex: str  # "F" or "" (any)
    age_min: int
    age_max: int
    cc: int | None  # None: the code counts for no CC


@dataclass(frozen=True)
class HccModel:
    version: str
    dx_map: Mapping[str, tuple[int, ...]]
    edits: Mapping[str, tuple[Edit, ...]]
    hierarchy: tuple[tuple[int, tuple[int, ...]], ...]  # (parent, children) in rule order
    requires: Mapping[int, frozenset[int]]
    groups: Mapping[str, frozenset[int]]
    interactions: tuple[tuple[str, str, str], ...]
    coefficients: Mapping[str, Mapping[str, float]]  # segment -> variable -> relative factor
    labels: Mapping[int, str]

    @property
    def payment_hccs(self) -> frozenset[int]:
        return frozenset(int(v[3:]) for v in self.coefficients["CNA"] if v[3:].isdigit() and v[:3] == "HCC")


@cache
def load_model(version: str) -> HccModel:
    if version not in VERSIONS:
        raise InvalidInput(f"unknown CMS-HCC version {version!r}; expected one of {', '.join(VERSIONS)}")

    def table(kind: str) -> list[dict[str, str]]:
        return read_table(TABLES_DIR / f"hcc_{version}_{kind}.csv")

    dx_map: dict[str, list[int]] = {}
    for row in table("dx_map"):
        dx_map.setdefault(row["code"], []).append(int(row["cc"]))
    edits: dict[str, list[Edit]] = {}
    for row in table("edits"):
        cc = int(row["cc"]) if row["cc"] else None
        edits.setdefault(row["code"], []).append(
            Edit(row["sex"], int(row["age_min"]), int(row["age_max"]), cc)
        )
    rules: dict[int, tuple[int, list[int]]] = {}
    requires: dict[int, set[int]] = {}
    for row in table("hierarchy"):
        parent, child = int(row["parent"]), int(row["child"])
        if row["kind"] == "requires":
            requires.setdefault(parent, set()).add(child)
        else:
            rules.setdefault(int(row["rule_order"]), (parent, []))[1].append(child)
    groups: dict[str, set[int]] = {}
    for row in table("groups"):
        groups.setdefault(row["grp"], set()).add(int(row["cc"]))
    coefficients: dict[str, dict[str, float]] = {}
    for row in table("coefficients"):
        coefficients.setdefault(row["segment"], {})[row["variable"]] = float(row["coefficient"])
    return HccModel(
        version=version,
        dx_map={code: tuple(ccs) for code, ccs in dx_map.items()},
        edits={code: tuple(e) for code, e in edits.items()},
        hierarchy=tuple((parent, tuple(children)) for _, (parent, children) in sorted(rules.items())),
        requires={cc: frozenset(r) for cc, r in requires.items()},
        groups={g: frozenset(ccs) for g, ccs in groups.items()},
        interactions=tuple((r["variable"], r["term1"], r["term2"]) for r in table("interactions")),
        coefficients=coefficients,
        labels={int(r["cc"]): r["label"] for r in table("labels")},
    )


# --------------------------------------------------------------------------- demographics


def age_on(birth_date: date | None, as_of: date) -> int | None:
    """Whole years at ``as_of`` (the CMS macro's AGEF), never below 0; None if the birth date is unknown."""
    if birth_date is None:
        return None
    before_birthday = (as_of.month, as_of.day) < (birth_date.month, birth_date.day)
    return max(as_of.year - birth_date.year - int(before_birthday), 0)


def sex_code(sex: str | None) -> str:
    """CMS has two sexes: FHIR ``male`` -> M; female, other, unknown -> F (hccpy's choice for unknown)."""
    return "M" if sex == "male" else "F"


def segment_for(*, age: int | None, medicare: bool, medicaid: bool, institutional: bool) -> str:
    """The model segment: INS when institutional at as-of; else community, full dual when both Medicare and
    Medicaid (a ``dual`` plan is both), non-dual otherwise (also without any Medicare coverage); aged at 65
    or more (or unknown age), disabled under 65."""
    if institutional:
        return "INS"
    aged = age is None or age >= 65
    if medicare and medicaid:
        return "CFA" if aged else "CFD"
    return "CNA" if aged else "CND"


def demographic_variable(segment: str, sex: str, age: int | None) -> str | None:
    if age is None:
        return None
    band = next(label for low, high, label in AGE_BANDS if low <= age <= high)
    return f"{sex}{band}"


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, the day clamped to the month's end (as DuckDB and Spark do)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def diagnosis_counts(*, onset_date: date | None, active: bool | None, as_of: date) -> bool:
    """A diagnosis counts if it began on or before as-of (or its onset is unknown) and is active, or began in
    the 12 months before as-of (the data-collection year)."""
    if onset_date is not None and onset_date > as_of:
        return False
    recent = onset_date is not None and onset_date > add_months(as_of, -LOOKBACK_MONTHS)
    return bool(active) or recent


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Component:
    component: str  # CNA_F70_74, HCC85, DIABETES_CHF, D2, LTIMCAID
    variable: str
    points: float
    codes: tuple[str, ...] = ()  # ICD-10 codes behind an HCC; the HCCs behind an interaction


@dataclass(frozen=True)
class HccResult:
    version: str
    segment: str
    score: float
    hccs: tuple[int, ...]
    components: tuple[Component, ...] = field(default=())

    @property
    def hccs_text(self) -> str:
        return ";".join(f"HCC{cc}" for cc in self.hccs)


def code_ccs(model: HccModel, code: str, *, age: int | None, sex: str) -> tuple[int, ...]:
    """The CCs of one ICD-10 code after the CMS mandatory age/sex edits (which replace its mapping)."""
    for edit in model.edits.get(code, ()):
        if (not edit.sex or edit.sex == sex) and age is not None and edit.age_min <= age <= edit.age_max:
            return () if edit.cc is None else (edit.cc,)
    return model.dx_map.get(code, ())


def apply_hierarchy(model: HccModel, ccs: Iterable[int]) -> set[int]:
    """The CMS ``%SET0`` rules in the macro's order: a rule fires if its HCC is still present then."""
    present = set(ccs)
    for cc, needed in model.requires.items():  # V28 heart patch, before hierarchies
        if cc in present and not present & needed:
            present.discard(cc)
    hccs = set(present)
    for parent, children in model.hierarchy:
        if parent in hccs:
            hccs.difference_update(children)
    return hccs


def score_codes(
    model: HccModel,
    *,
    codes: Iterable[str],
    age: int | None,
    sex: str,
    segment: str,
    medicaid: bool = False,
) -> HccResult:
    """The raw score of one patient from its ICD-10 codes (upper case, no dot), age, sex (M/F), segment."""
    if segment not in SEGMENTS:
        raise InvalidInput(f"unknown CMS-HCC segment {segment!r}; expected one of {', '.join(SEGMENTS)}")
    by_cc: dict[int, set[str]] = {}
    for code in set(codes):
        for cc in code_ccs(model, code, age=age, sex=sex):
            by_cc.setdefault(cc, set()).add(code)
    hccs = apply_hierarchy(model, by_cc)
    disabled = age is not None and age < 65
    coefficients = model.coefficients[segment]
    variables: list[tuple[str, tuple[str, ...]]] = []
    cell = demographic_variable(segment, sex, age)
    if cell is not None:
        variables.append((cell, ()))
    if medicaid:
        variables.append(("LTIMCAID", ()))
    variables += [(f"HCC{cc}", tuple(sorted(by_cc[cc]))) for cc in sorted(hccs)]
    for variable, term1, term2 in model.interactions:
        found = [_term_hccs(model, term, hccs, disabled) for term in (term1, term2)]
        if all(found):
            variables.append((variable, tuple(f"HCC{cc}" for f in found for cc in sorted(f) if cc)))
    if hccs:
        variables.append(("D10P" if len(hccs) >= 10 else f"D{len(hccs)}", ()))
    components = []
    for variable, behind in variables:
        if variable in coefficients:
            name = f"{segment}_{variable}" if variable == cell else variable
            components.append(Component(name, variable, coefficients[variable], behind))
    score = round(sum(c.points for c in components), 3)
    return HccResult(model.version, segment, score, tuple(sorted(hccs)), tuple(components))


def _term_hccs(model: HccModel, term: str, hccs: set[int], disabled: bool) -> set[int]:
    if term == DISABLED:
        return {0} if disabled else set()
    return hccs & model.groups[term]


# --------------------------------------------------------------------------- one patient's records


@dataclass(frozen=True)
class Diagnosis:
    code: str
    onset_date: date | None = None
    active: bool | None = True


@dataclass(frozen=True)
class Period:
    kind: str  # a plan type for coverages; "institutional" / "community" for residence
    start_date: date | None = None
    end_date: date | None = None

    def covers(self, day: date) -> bool:
        return (self.start_date is None or self.start_date <= day) and (
            self.end_date is None or self.end_date >= day
        )


def score_patient(
    version: str,
    *,
    as_of: date,
    birth_date: date | None,
    sex: str | None,
    diagnoses: Sequence[Diagnosis] = (),
    coverages: Sequence[Period] = (),
    residence: Sequence[Period] = (),
) -> HccResult:
    """One patient scored from snapshot-shaped records, exactly as the SQL definition does."""
    age = age_on(birth_date, as_of)
    plans = {c.kind for c in coverages if c.covers(as_of)}
    medicaid = bool(plans & MEDICAID_PLANS)
    institutional = any(r.kind == "institutional" and r.covers(as_of) for r in residence)
    segment = segment_for(
        age=age, medicare=bool(plans & MEDICARE_PLANS), medicaid=medicaid, institutional=institutional
    )
    codes = [
        d.code for d in diagnoses if diagnosis_counts(onset_date=d.onset_date, active=d.active, as_of=as_of)
    ]
    return score_codes(
        load_model(version), codes=codes, age=age, sex=sex_code(sex), segment=segment, medicaid=medicaid
    )
