"""The CapabilityStatement, generated from what the facade implements (never written by hand)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from carenav.accounts.rules import TokenScope
from carenav.fhir.mappers.common import instant
from carenav.fhir.search import RESULT_PARAMETERS, SEARCH_PARAMETERS

FHIR_VERSION = "4.0.1"
EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
RESULT_PARAMETER_DOCS = {
    "_count": "Page size (default from settings, at most 500; 0 returns the total only).",
    "_offset": "Offset of the page's first match (the paging token of the next/previous links).",
    "_format": "json or application/fhir+json only.",
}


def capability_statement(
    *,
    base_url: str,
    software_version: str,
    published_at: datetime,
    readable_types: list[str],
    operations: dict[str, list[tuple[str, str]]],
    creatable_types: Sequence[str] = (),
    updatable_types: Sequence[str] = (),
) -> dict[str, Any]:
    """``readable_types``: types with a read interaction; searches come from ``SEARCH_PARAMETERS``;
    ``creatable_types``: types with a create interaction (POST); ``updatable_types``: with update (PUT);
    ``operations``: per type, (name, definition) of the operations routed."""
    resources = []
    for resource_type in sorted(set(readable_types) | set(SEARCH_PARAMETERS) | set(creatable_types)):
        interactions = []
        if resource_type in readable_types:
            interactions.append({"code": "read"})
        if resource_type in creatable_types:
            interactions.append({"code": "create"})
        if resource_type in updatable_types:
            interactions.append({"code": "update"})
        entry: dict[str, Any] = {"type": resource_type}
        params = SEARCH_PARAMETERS.get(resource_type, ())
        if params:
            interactions.append({"code": "search-type"})
            entry["searchParam"] = [
                {"name": p.name, "type": p.type, "documentation": p.documentation} for p in params
            ] + [
                {
                    "name": name,
                    "type": "number" if name != "_format" else "string",
                    "documentation": RESULT_PARAMETER_DOCS[name],
                }
                for name in RESULT_PARAMETERS
            ]
        entry["interaction"] = interactions
        if resource_type in operations:
            entry["operation"] = [
                {"name": name, "definition": definition} for name, definition in operations[resource_type]
            ]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(published_at),
        "publisher": "carenav",
        "kind": "instance",
        "software": {"name": "carenav", "version": software_version},
        "implementation": {
            "description": "carenav FHIR R4 facade (reads and searches; QuestionnaireResponse create)",
            "url": base_url,
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Facade over the carenav record: reads and searches, and the create of "
                    "QuestionnaireResponses (an assessment of a patient). Send 'Authorization: Bearer "
                    "<token>' (a carenav API token with scope fhir:read to read, fhir:write to create); "
                    "the token's user, role and caseload decide which patients are visible. Unknown "
                    "search parameters are refused with 400 unless the request carries "
                    "'Prefer: handling=lenient'."
                ),
                "security": {
                    "cors": False,
                    "description": "Bearer tokens issued by 'carenav tokens create'; scopes "
                    f"{', '.join(s.value for s in TokenScope)}.",
                },
                "resource": resources,
            }
        ],
    }
