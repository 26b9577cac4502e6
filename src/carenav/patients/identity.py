"""Stable public ids (the FHIR ``id`` we expose) for records that come from a source system.

An imported row's uuid is a UUID 5 over the organization, the source system, the FHIR resource type and
the source's own id, so re-importing and exporting give the same ids every time.
"""

from __future__ import annotations

import uuid

RECORD_NAMESPACE = uuid.UUID("5d3c2b0e-8f41-5c9a-9b2e-6a1f0c7d4e21")


def record_uuid(*, org_uuid: str, source_system: str, resource_type: str, source_id: str) -> str:
    """The deterministic uuid of the record ``resource_type/source_id`` from ``source_system``."""
    name = f"{org_uuid}|{source_system}|{resource_type}|{source_id}"
    return str(uuid.uuid5(RECORD_NAMESPACE, name))
