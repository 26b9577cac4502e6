"""Shapes the edges hand to the programs services: consent at enrolment, a run's flags, bulk outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from carenav.programs.rules import ConsentKind


class ConsentInput(BaseModel):
    """Consent captured at enrolment. ``obtained_by`` defaults to the acting user's name; ``scope`` to the
    program's name (what the patient agreed to: the services, cost sharing, one billing practitioner,
    the right to stop)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ConsentKind
    given_on: date
    obtained_by: str | None = Field(default=None, max_length=200)
    scope: str | None = Field(default=None, max_length=2000)


class ProgramFlag(BaseModel):
    """One patient's result in a stratification run: the programs they are eligible for (codes) and,
    per code, the evidence (which rule, which values met it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_uuid: str
    programs: tuple[str, ...]
    evidence: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_row(
        cls, patient_uuid: str, programs: str, evidence: dict[str, str] | None = None
    ) -> ProgramFlag:
        """From a run's output row (``programs`` as the ';'-separated list)."""
        codes = tuple(code for code in programs.split(";") if code)
        return cls(patient_uuid=patient_uuid, programs=codes, evidence=evidence or {})


@dataclass(frozen=True)
class IdentifyOutcome:
    """What identifying one patient for one program did.

    ``outcome``: opened (first episode) | reopened (a new episode after a closed one) | already-open
    (nothing to do: identify is idempotent) | recently-closed (a closed episode ended less than
    ``reidentify_after_days`` ago; left alone) | not-found (no such patient within reach) | unknown-program.
    """

    patient_uuid: str
    program_code: str
    outcome: str
    episode: int | None = None
    state: str | None = None


@dataclass(frozen=True)
class BulkOutcome:
    """One patient's outcome in a bulk action: ``ok``, and a message (the new state, or why not)."""

    patient_uuid: str
    ok: bool
    message: str
