"""Build the CMS-HCC V24 / V28 reference tables (``src/carenav/analytics/tables/hcc_v2*_*.csv``).

Reads the CMS model software files that the installed ``hccpy==0.1.9`` package ships under
``hccpy/data/`` (CMS data, public domain) and writes one CSV per table and version, each with its
sources cited in ``#`` header lines. Run it again to check the committed tables are reproducible:

    .venv/bin/python scripts/build_hcc_tables.py          # write the tables
    .venv/bin/python scripts/build_hcc_tables.py --check  # fail if a committed table differs

Only hccpy's copies of the CMS files are read (never hccpy's code): the SAS macros of the model
software (hierarchies ``V24H86H1`` / ``V28115H1``, age/sex edits ``V24I0ED1`` / ``V28I0ED1``, the main
macros ``V2419P1M`` / ``V2823T2M`` that define the interaction variables, labels ``V24H86L1`` /
``V28115L3``), the ICD-10-CM to CC mappings and the relative factors (CMS ``HCCCOEFN`` table).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path

TABLES = Path(__file__).resolve().parent.parent / "src" / "carenav" / "analytics" / "tables"
SEGMENTS = ("CNA", "CND", "CFA", "CFD", "CPA", "CPD", "INS")
HCCPY = "hccpy 0.1.9 (Apache-2.0), data/"


@dataclass(frozen=True)
class Version:
    name: str  # v24 | v28
    mapping: str
    mapping_note: str
    hierarchy: str
    edits: str
    main: str
    labels: str
    coefficients: str
    coefficients_note: str


VERSIONS = (
    Version(
        name="v24",
        mapping="F2422P1M.TXT",
        mapping_note=(
            "CMS-HCC V24 ICD-10-CM to CC mapping for payment year 2022 (final), ICD-10 FY2021/FY2022 codes"
        ),
        hierarchy="V24H86H1.TXT",
        edits="V24I0ED1.TXT",
        main="V2419P1M.TXT",
        labels="V24H86L1.TXT",
        coefficients="V24hcccoefn.csv",
        coefficients_note=(
            "CMS-HCC V24 relative factors (the 2020 CMS-HCC model with payment-HCC counts, used for "
            "payment years 2020-2025), CMS HCCCOEFN table of the V24 model software"
        ),
    ),
    Version(
        name="v28",
        mapping="F2823T2N_FY22FY23.TXT",
        mapping_note=(
            "CMS-HCC V28 ICD-10-CM to CC mapping of the 2024 CMS-HCC model software (F2823T2N), "
            "ICD-10 FY2022/FY2023 codes"
        ),
        hierarchy="V28115H1.TXT",
        edits="V28I0ED1.TXT",
        main="V2823T2M.TXT",
        labels="V28115L3.TXT",
        coefficients="V28hcccoefn.csv",
        coefficients_note=(
            "CMS-HCC V28 relative factors (the 2024 CMS-HCC model, payment years 2024 onwards), "
            "CMS HCCCOEFN table of the V28 model software"
        ),
    ),
)


def hccpy_data() -> Path:
    spec = importlib.util.find_spec("hccpy")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("hccpy is not installed: .venv/bin/pip install -e '.[dev]'")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def read_text(path: Path) -> str:
    return path.read_text(encoding="latin-1").replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------- tables


def mapping_rows(text: str) -> list[tuple[str, int]]:
    rows: set[tuple[str, int]] = set()
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip():
            continue
        rows.add((parts[0].strip().upper(), int(parts[1].strip())))
    return sorted(rows)


def hierarchy_rows(text: str) -> list[tuple[int, int, int]]:
    """(rule order, parent, child) in the order of the SAS ``%SET0`` calls (which may span lines)."""
    body = re.sub(r"\s+", " ", text)
    rows = []
    rule = r"%SET0\(\s*CC=(\d+)\s*,\s*HIER=%STR\(([^)]*)\)\s*\)"
    for order, match in enumerate(re.finditer(rule, body), 1):
        parent = int(match.group(1))
        for child in match.group(2).split(","):
            rows.append((order, parent, int(child.strip())))
    if not rows:
        raise SystemExit("no hierarchy rules found")
    return rows


# The conditions the CMS edit macros use, as (sex, age ranges); checked against the SAS text.
EDIT_CONDITIONS = {
    '&SEX="2" AND': ("F", [(0, 999)]),
    "&AGE < 18 AND": ("", [(0, 17)]),
    "(&AGE < 6 OR &AGE > 18) AND": ("", [(0, 5), (19, 999)]),
    "&AGE < 50 AND": ("", [(0, 49)]),
    "&AGE >= 2 AND": ("", [(2, 999)]),
}


def edit_rows(text: str) -> list[tuple[str, str, int, int, str]]:
    """(code, sex, age_min, age_max, cc or '' = the code counts for no CC) from the mandatory edits."""
    mandatory = text.split("%* MCE edits", 1)[0]
    body = re.sub(r"\s+", " ", mandatory)
    rows = []
    pattern = r"IF (.+?) &ICD10 (?:IN \(([^)]*)\)|= (\"[^\"]+\")) THEN CC=\"([^\"]+)\";"
    for condition, codes_in, code_eq, cc in re.findall(pattern, body):
        condition = condition.replace("ELSE ", "").strip()
        if condition not in EDIT_CONDITIONS:
            raise SystemExit(f"unknown edit condition {condition!r}")
        sex, ranges = EDIT_CONDITIONS[condition]
        codes = [c.strip().strip('"') for c in (codes_in or code_eq).split(",")]
        target = "" if cc == "-1.0" else str(int(cc))
        for code in codes:
            for low, high in ranges:
                rows.append((code, sex, low, high, target))
    if not rows:
        raise SystemExit("no edits found")
    return rows


def label_rows(text: str) -> list[tuple[int, str]]:
    return sorted(
        (int(n), " ".join(label.split())) for n, label in re.findall(r'\bHCC(\d+)\s*="([^"]*)"', text)
    )


def coefficient_rows(text: str) -> list[tuple[str, str, str]]:
    header, values = list(csv.reader(io.StringIO(text)))[:2]
    rows = []
    for name, value in zip(header, values, strict=True):
        segment, _, variable = name.strip().partition("_")
        if segment in SEGMENTS:
            rows.append((segment, variable, format(float(value), "g")))
    return rows


def _section(text: str, start: str, end: str) -> str:
    begin = text.index(start)
    return text[begin : text.index(end, begin)]


def interaction_rows(
    main: str, coefficients: list[tuple[str, str, str]]
) -> tuple[list[tuple[str, int]], list[tuple[str, str, str]], list[tuple[int, int]]]:
    """Groups (name, cc), interactions (variable, term1, term2) and CC requirements (cc, requires).

    Parsed from the step that builds them in the main SAS macro: ``NAME = MAX(HCCa, HCCb)`` or
    ``NAME = HCCa`` define groups; ``NAME = A*B`` an interaction of two groups (or ``DISABL``); the V28
    "heart interaction patch" (``IF CC223 = 1 AND MAX(CC221, ...) = 0 THEN CC223 = 0``) a requirement.
    Interaction names are those of the coefficient table (V28's SAS names carry a ``_V28`` suffix that
    the table does not).
    """
    names = {variable.upper(): variable for _, variable, _ in coefficients}
    step = _section(main, "IF IN1 & IN2 THEN DO;\n            %****", "END; *there are some diagnoses")
    requires: list[tuple[int, int]] = []
    for cc, others in re.findall(r"IF CC(\d+)\s*=\s*1 AND MAX\(([^)]*)\)\s*=\s*0\s+THEN CC\1\s*=\s*0", step):
        requires += [(int(cc), int(o.strip().removeprefix("CC"))) for o in others.split(",")]
    groups: dict[str, list[int]] = {}
    interactions: list[tuple[str, str, str]] = []
    body = re.sub(r"\s+", " ", step)

    def group_of(term: str) -> str:
        term = term.strip().strip("()").upper()
        if term == "DISABL":
            return "DISABLED"
        if re.fullmatch(r"HCC\d+", term):
            groups.setdefault(term, [int(term[3:])])
            return term
        if term not in groups:
            raise SystemExit(f"interaction term {term!r} is not a group")
        return term

    for name, expression in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^;=]+);", body):
        key, expression = name.upper(), expression.strip()
        members = re.fullmatch(r"MAX\(([^)]*)\)", expression)
        if members:
            groups[key] = [int(m.strip().removeprefix("HCC")) for m in members.group(1).split(",")]
        elif re.fullmatch(r"HCC\d+", expression):
            groups[key] = [int(expression[3:])]
        elif "*" in expression:
            left, right = expression.split("*")
            variable = names.get(key) or names.get(key.removesuffix("_V28"))
            if variable is None:
                raise SystemExit(f"interaction {name} has no coefficient")
            interactions.append((variable, group_of(left), group_of(right)))
        elif not re.fullmatch(r"\d+", expression):
            raise SystemExit(f"cannot read {name} = {expression}")
    group_rows = sorted((g, cc) for g, ccs in groups.items() for cc in ccs)
    return group_rows, interactions, requires


# --------------------------------------------------------------------------- writing


def render(title: str, sources: list[str], columns: list[str], rows: list[tuple[object, ...]]) -> str:
    out = io.StringIO()
    out.write(f"# {title}\n")
    for line in sources:
        out.write(f"# {line}\n")
    out.write("# CMS data (public domain); generated by scripts/build_hcc_tables.py, do not edit by hand.\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def build(data: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for v in VERSIONS:
        model = f"CMS-HCC {v.name.upper()}"
        coefficients = coefficient_rows(read_text(data / v.coefficients))
        groups, interactions, requires = interaction_rows(read_text(data / v.main), coefficients)
        files[f"hcc_{v.name}_dx_map.csv"] = render(
            f"{model}: ICD-10-CM (upper case, no dot) -> condition category (CC); a code may map to several.",
            [f"Source: CMS {v.mapping} ({v.mapping_note}), via {HCCPY}{v.mapping}."],
            ["code", "cc"],
            list(mapping_rows(read_text(data / v.mapping))),
        )
        files[f"hcc_{v.name}_edits.csv"] = render(
            f"{model}: mandatory age/sex edits; when sex (F or any) and age_min <= age <= age_max, the code "
            "maps to cc instead of its mapping (empty cc: to no CC).",
            [f"Source: CMS model software macro {v.edits.removesuffix('.TXT')} ({HCCPY}{v.edits})."],
            ["code", "sex", "age_min", "age_max", "cc"],
            list(edit_rows(read_text(data / v.edits))),
        )
        files[f"hcc_{v.name}_hierarchy.csv"] = render(
            f"{model}: hierarchies (kind drop): rules apply in rule_order, a rule drops child when "
            "parent is still present at that point; and (kind requires, rule_order 0, before "
            "hierarchies) parent counts only if one of its required CCs (child) is present too.",
            [
                f"Source: CMS model software macros {v.hierarchy.removesuffix('.TXT')} "
                f"({HCCPY}{v.hierarchy}) and {v.main.removesuffix('.TXT')} ({HCCPY}{v.main}).",
            ],
            ["kind", "rule_order", "parent", "child"],
            [("requires", 0, cc, other) for cc, other in requires]
            + [("drop", *row) for row in hierarchy_rows(read_text(data / v.hierarchy))],
        )
        files[f"hcc_{v.name}_groups.csv"] = render(
            f"{model}: diagnostic categories used by the interaction variables (after hierarchies).",
            [f"Source: CMS model software macro {v.main.removesuffix('.TXT')} ({HCCPY}{v.main})."],
            ["grp", "cc"],
            list(groups),
        )
        files[f"hcc_{v.name}_interactions.csv"] = render(
            f"{model}: interaction variables = term1 * term2 (a group of the groups table, or DISABLED).",
            [f"Source: CMS model software macro {v.main.removesuffix('.TXT')} ({HCCPY}{v.main})."],
            ["variable", "term1", "term2"],
            list(interactions),
        )
        files[f"hcc_{v.name}_coefficients.csv"] = render(
            f"{model}: relative factors by segment and variable (segments CNA CND CFA CFD CPA CPD INS).",
            [f"Source: {v.coefficients_note}, via {HCCPY}{v.coefficients}."],
            ["segment", "variable", "coefficient"],
            list(coefficients),
        )
        files[f"hcc_{v.name}_labels.csv"] = render(
            f"{model}: HCC labels.",
            [f"Source: CMS model software macro {v.labels.removesuffix('.TXT')} ({HCCPY}{v.labels})."],
            ["cc", "label"],
            list(label_rows(read_text(data / v.labels))),
        )
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed table differs")
    args = parser.parse_args()
    files = build(hccpy_data())
    stale = []
    for name, text in files.items():
        path = TABLES / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
            print(f"{path.relative_to(TABLES.parent.parent.parent.parent)}: {text.count(chr(10))} lines")
    if stale:
        print("stale tables: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
