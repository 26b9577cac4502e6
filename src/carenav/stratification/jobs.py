"""The nightly job for one organization: snapshot the record store, score every patient, save the run and
identify flagged patients into their programs. Used by ``carenav stratify`` and ``carenav demo load``."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.analytics.definitions import rules_version
from carenav.analytics.engines import Engine, EngineResult
from carenav.analytics.sources.record_store import write_record_store_snapshot
from carenav.clock import now
from carenav.db.session import unit_of_work
from carenav.programs.rules import rules_load, rules_path_for_org
from carenav.stratification.services import (
    program_flags,
    stratification_definitions,
    stratification_run_identify,
    stratification_run_save,
)


@dataclass
class StratificationJob:
    """What a saved run did: the engine's result, and a JSON-able summary (run id, rules, identified)."""

    result: EngineResult
    summary: dict[str, Any] = field(default_factory=dict)


def unmapped_summary(result: EngineResult) -> dict[str, Any]:
    """Codes the crosswalk could not map, apart from those deliberately left unmapped."""
    report = result.reports.get("unmapped_codes")
    rows = report.to_pylist() if report is not None else []
    unknown = [r for r in rows if not r["deliberate"]]
    return {
        "unmapped_codes": len(unknown),
        "unmapped_diagnoses": sum(r["diagnoses"] for r in unknown),
        "unmapped": [
            {"system": r["system"], "code": r["code"], "display": r["display"], "patients": r["patients"]}
            for r in unknown
        ],
        "deliberately_unmapped_codes": len(rows) - len(unknown),
    }


def stratification_job_run(
    *,
    sessions: sessionmaker[Session],
    actor: Actor,
    engine: Engine,
    as_of: date,
    rules_dir: Path,
) -> StratificationJob:
    """Score the actor's organization from the record store (its own rules file, else the default), save
    the run and identify flagged patients. Two transactions: the snapshot read, then the save."""
    started = now()
    summary: dict[str, Any] = {"as_of": as_of.isoformat(), "engine": engine.name, "source": "record store"}
    with tempfile.TemporaryDirectory(prefix="carenav-snapshot-") as tmp:
        snapshot = Path(tmp)
        with unit_of_work(sessions) as session:
            org = session.get_one(Organization, actor.org_id)
            rules_file = rules_path_for_org(org.slug, rules_dir)
            rules = rules_load(rules_file)
            definitions = stratification_definitions(rules)
            version = rules_version(definitions)
            summary["rules_version"] = version
            summary["rules_file"] = str(rules_file)
            summary["programs_rules_version"] = rules.version
            summary["snapshot"] = write_record_store_snapshot(
                session=session, actor=actor, directory=snapshot
            )
        result = engine.run(snapshot=snapshot, as_of=as_of, definitions=definitions)
    summary.update(unmapped_summary(result))
    with unit_of_work(sessions) as session:
        run = stratification_run_save(
            session=session,
            actor=actor,
            as_of=as_of,
            engine=engine.name,
            rules_version=version,
            started_at=started,
            finished_at=now(),
            scores=result.scores,
            evidence=result.evidence,
            summary=dict(summary),
        )
        identified = stratification_run_identify(
            session=session,
            actor=actor,
            run=run,
            flags=program_flags(result.scores, result.evidence),
            rules=rules,
        )
        summary["run"] = run.uuid
        summary["identified"] = {
            "flagged_patients": identified.flagged_patients,
            "new": identified.newly_identified,
            "outcomes": identified.outcomes,
        }
    return StratificationJob(result=result, summary=summary)
