"""Import the 40 Synthea bundles, export them again: every line validates, counts per type match."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carenav.access import Actor
from carenav.audit.models import AuditEvent
from carenav.fhir.export import MANIFEST, export_bulk
from carenav.ingest.fhir.driver import ImportLimits, fhir_import
from carenav.patients.models import CareTeamMember, Coverage, RelatedPerson
from carenav.settings import Settings
from tests.builders import make_org
from tests.fhir.validation import assert_valid

# Types whose every source resource becomes exactly one row (Organization/Practitioner: one per id).
ONE_TO_ONE = (
    "Patient",
    "Encounter",
    "Condition",
    "Observation",
    "MedicationRequest",
    "AllergyIntolerance",
    "Procedure",
    "Organization",
    "Practitioner",
)


def source_counts(folder: Path) -> Counter[str]:
    seen: set[tuple[str, str]] = set()
    for path in sorted(folder.glob("*.json")):
        for entry in json.loads(path.read_text())["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] in ONE_TO_ONE:
                seen.add((resource["resourceType"], resource["id"]))
    return Counter(resource_type for resource_type, _ in seen)


@pytest.mark.slow
def test_synthea_import_then_export_validates_and_counts_match(
    session: Session, shared_data: Path, tmp_path: Path
) -> None:
    org = make_org(session)
    actor = Actor.operator(org.id, "roundtrip")
    settings = Settings()
    limits = ImportLimits(
        max_file_bytes=settings.import_max_file_bytes, max_line_bytes=settings.import_max_line_bytes
    )
    folder = shared_data / "synthea-r4"
    fhir_import(session=session, actor=actor, paths=[folder], limits=limits)
    session.flush()

    out = tmp_path / "export"
    result = export_bulk(session=session, actor=actor, directory=out)

    expected = source_counts(folder)
    for resource_type in ONE_TO_ONE:
        assert result.counts.get(resource_type, 0) == expected[resource_type], resource_type
    assert expected["Patient"] == 40
    assert result.patients == 40

    def rows(model: type) -> int:
        return session.scalar(select(func.count()).select_from(model).where(model.org_id == org.id)) or 0

    assert result.counts.get("Coverage", 0) == rows(Coverage) > 0
    assert result.counts.get("RelatedPerson", 0) == rows(RelatedPerson)
    teams = session.scalar(
        select(func.count(func.distinct(CareTeamMember.patient_id))).where(CareTeamMember.org_id == org.id)
    )
    assert result.counts.get("CareTeam", 0) == teams

    manifest = orjson.loads((out / MANIFEST).read_bytes())
    listed = {item["type"]: item for item in manifest["output"]}
    assert set(listed) == {t for t, n in result.counts.items() if n}
    seen_ids: set[tuple[str, str]] = set()
    for resource_type, item in listed.items():
        lines = (out / item["url"]).read_bytes().splitlines()
        assert len(lines) == item["count"] == result.counts[resource_type]
        for line in lines:
            resource = orjson.loads(line)
            assert resource["resourceType"] == resource_type
            assert_valid(resource)
            seen_ids.add((resource_type, resource["id"]))
        assert len({i for t, i in seen_ids if t == resource_type}) == item["count"]

    exported = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.org_id == org.id, AuditEvent.action == "export")
    )
    assert exported == 40
