"""Stable public ids (the FHIR ``id`` we expose) for records that come from a source system.

An imported row's uuid is a UUID 5 over the organization, the source system, the FHIR resource type and
the source's own id, so re-importing and exporting give the same ids every time.
"""

from __future__ import annotations

import hashlib
import uuid

RECORD_NAMESPACE = uuid.UUID("5d3c2b0e-8f41-5c9a-9b2e-6a1f0c7d4e21")
_NAMESPACE_BYTES = RECORD_NAMESPACE.bytes


def record_uuid(*, org_uuid: str, source_system: str, resource_type: str, source_id: str) -> str:
    """The deterministic uuid of the record ``resource_type/source_id`` from ``source_system``.

    Exactly ``str(uuid.uuid5(RECORD_NAMESPACE, name))``, computed without building ``UUID`` objects
    (an import makes one per row)."""
    name = f"{org_uuid}|{source_system}|{resource_type}|{source_id}"
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
