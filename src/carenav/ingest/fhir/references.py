"""Resolving FHIR references inside a Bundle (``urn:uuid:`` fullUrls, ``Type/id``) or across NDJSON files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from carenav.ingest.fhir.datatypes import ResourceProblem, as_object


@dataclass(slots=True)
class ReferenceIndex:
    """What the references of one source point at: a bundle's entries by fullUrl, or nothing (NDJSON,
    where ``Type/id`` references are taken at their word).

    ``plans``: the care plan (by source id) each Goal and Task belongs to, as the CarePlans read so far in
    the run listed them (``(type, id) -> plan id``); shared by every file of a run, so a Goal read after
    its CarePlan, in the same file or a later one, knows its plan."""

    by_url: dict[str, tuple[str, str]] = field(default_factory=dict)
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    plans: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(
        self, full_url: str | None, resource_type: str, resource_id: str, resource: dict[str, Any]
    ) -> None:
        if full_url:
            self.by_url[full_url] = (resource_type, resource_id)
        self.by_url[f"{resource_type}/{resource_id}"] = (resource_type, resource_id)
        self.resources[(resource_type, resource_id)] = resource

    def target(self, reference: Any, element: str) -> tuple[str, str] | None:
        """(type, id) a Reference points at, or None when it names nothing we can resolve (a display only,
        a logical identifier, a ``#contained`` id, a ``urn:uuid`` outside this bundle)."""
        if reference is None:
            return None
        text = as_object(reference, element).get("reference")
        if text is None:
            return None
        if not isinstance(text, str):
            raise ResourceProblem(f"{element}.reference must be a string, not {text!r}")
        found = self.by_url.get(text)
        if found is not None:
            return found
        if text.startswith(("urn:", "#")):
            return None
        parts = text.rstrip("/").split("/")
        if len(parts) >= 4 and parts[-2] == "_history":
            parts = parts[:-2]
        if len(parts) >= 2 and parts[-2][:1].isupper() and parts[-1]:
            return parts[-2], parts[-1]
        return None

    def patient_id(self, reference: Any, element: str) -> str:
        """The source id of the Patient a required patient reference points at."""
        if reference is None:
            raise ResourceProblem(f"{element} is missing: it must reference the Patient")
        found = self.target(reference, element)
        if found is None:
            text = reference.get("reference") if isinstance(reference, dict) else None
            raise ResourceProblem(f"{element} ({text or 'no reference'}) does not resolve to a Patient")
        if found[0] != "Patient":
            raise ResourceProblem(f"{element} references a {found[0]}, not a Patient")
        return found[1]

    def resource(self, target: tuple[str, str] | None) -> dict[str, Any] | None:
        return self.resources.get(target) if target is not None else None


def contained(resource: dict[str, Any], reference: Any) -> dict[str, Any] | None:
    """The contained resource a ``#id`` reference names, if any."""
    if not isinstance(reference, dict):
        return None
    text = reference.get("reference")
    if not isinstance(text, str) or not text.startswith("#"):
        return None
    for inner in resource.get("contained") or ():
        if isinstance(inner, dict) and inner.get("id") == text[1:]:
            return inner
    return None
