"""How people are named on screen."""

from __future__ import annotations

from carenav.patients.models import Patient
from carenav.patients.rules import display_name


def patient_display_name(patient: Patient) -> str:
    name = patient.primary_name
    return display_name(name.given, name.family) if name else "(no name)"
