"""Validation of what we emit with one pinned FHIR library: ``fhir.resources.R4B`` (see docs/fhir.md)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class


def assert_valid(resource: dict[str, Any]) -> None:
    """Raise (with the library's message) unless ``resource`` is a valid resource of its type."""
    model = get_fhir_model_class(resource["resourceType"])
    model.model_validate(resource)
