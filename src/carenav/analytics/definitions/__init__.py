"""The registry of population definitions, in the order they run.

Adding a model = writing its module (a ``Definition``) and adding one line to ``REGISTERED`` below: the
engine runs every registered definition after those it ``depends_on`` and its ``columns`` join the
output, in registry order. ``crosswalk`` always runs first: its views (``dx_icd10``, ``dx_as_of``,
``patient_age``) are there for every other definition.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from carenav.analytics.definition import Definition
from carenav.analytics.definitions.charlson import CHARLSON
from carenav.analytics.definitions.crosswalk import CROSSWALK
from carenav.analytics.definitions.hcc import HCC_DEMOGRAPHICS, hcc_v24, hcc_v28
from carenav.analytics.definitions.lace import LACE
from carenav.analytics.definitions.programs import default_programs_definition
from carenav.analytics.definitions.utilization import UTILIZATION
from carenav.errors import InvalidInput

REGISTERED: list[Definition | Callable[[], Definition]] = [
    CROSSWALK,
    CHARLSON,
    LACE,
    UTILIZATION,
    HCC_DEMOGRAPHICS,
    hcc_v24,
    hcc_v28,
    default_programs_definition,
]
"""A definition, or a function of no arguments that builds one when a run starts (a definition compiled
from a rules file, say)."""


def registered() -> list[Definition]:
    """Every registered definition, built, in registry order."""
    return [entry if isinstance(entry, Definition) else entry() for entry in REGISTERED]


def ordered(definitions: Iterable[Definition] | None = None) -> list[Definition]:
    """The definitions in an order that runs each after its dependencies (registry order otherwise).
    A dependency not among ``definitions`` is taken from the registry (``[CHARLSON]`` runs the
    crosswalk first)."""
    pending = list(registered() if definitions is None else definitions)
    names = {d.name for d in pending}
    if len(names) != len(pending):
        raise InvalidInput("two definitions share a name", where="analytics registry")
    available = {d.name: d for d in registered()} if definitions is not None else {}
    queue = list(pending)
    while queue:
        definition = queue.pop()
        for dep in definition.depends_on:
            if dep in names:
                continue
            if dep not in available:
                raise InvalidInput(
                    f"{definition.name} depends on {dep}, which is not registered",
                    where="analytics registry",
                )
            pending.append(available[dep])
            queue.append(available[dep])
            names.add(dep)
    done: list[Definition] = []
    placed: set[str] = set()
    pending.sort(key=lambda d: d.name != CROSSWALK.name)  # stable: crosswalk first, the rest as listed
    while pending:
        ready = [d for d in pending if set(d.depends_on) <= placed]
        if not ready:
            cycle = ", ".join(d.name for d in pending)
            raise InvalidInput(f"the definitions {cycle} depend on each other", where="analytics registry")
        first = ready[0]
        done.append(first)
        placed.add(first.name)
        pending.remove(first)
    return done


def output_columns(definitions: Sequence[Definition]) -> list[str]:
    """``patient_id`` then every definition's columns, in run order."""
    columns = ["patient_id"]
    for definition in definitions:
        for column in definition.columns:
            if column in columns:
                raise InvalidInput(
                    f"column {column} of {definition.name} is already output by another definition",
                    where="analytics registry",
                )
            columns.append(column)
    return columns


def rules_version(definitions: Sequence[Definition]) -> str:
    """A digest of everything that decides the results: each definition's SQL, columns, version and the
    bytes of its reference tables. Two runs with the same rules version used the same rules."""
    digest = hashlib.sha256()
    for definition in definitions:
        parts = [
            definition.name,
            definition.version,
            ",".join(definition.columns),
            ",".join(definition.depends_on),
            definition.scores_sql,
            definition.evidence_sql,
            *(f"{k}={v}" for k, v in sorted(definition.views.items())),
            *(f"{k}={v}" for k, v in sorted(definition.reports.items())),
            *(f"{k}={sorted(v.items())}" for k, v in sorted(definition.typed.items())),
        ]
        for part in parts:
            digest.update(part.encode())
            digest.update(b"\0")
        for name, path in sorted(definition.table_paths().items()):
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
