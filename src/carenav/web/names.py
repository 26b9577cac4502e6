"""How people are named on screen."""

from __future__ import annotations

from carenav.patients.models import Patient


def patient_display_name(patient: Patient) -> str:
    return patient.name_shown
