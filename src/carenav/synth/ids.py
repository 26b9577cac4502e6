"""Deterministic resource ids: RFC 9562 version-8 ("custom") UUIDs built from (seed, type, patient, n).

Layout ``TTTTTTTT-RRRR-8KKK-VNNN-KKKKKKKKKKKK``: T = 32 bits of SHA-256 over the seed, R = resource type
number, K = patient index (60 bits), N = the n-th resource of that type for the patient (14 bits, with the
RFC variant bits in front). Ids are unique by construction within one seed, equal across runs, and equal
across ``--as-of`` dates (the same synthetic person keeps the same ids on a later export).
"""

from __future__ import annotations

import hashlib

TYPE_NUMBER: dict[str, int] = {
    "Patient": 0x0001,
    "Coverage": 0x0002,
    "Encounter": 0x0003,
    "Condition": 0x0004,
    "Observation": 0x0005,
    "MedicationRequest": 0x0006,
    "Organization": 0x0007,
    "Practitioner": 0x0008,
}
MAX_PER_PATIENT = 0x4000
MAX_PATIENTS = 1 << 60
_SEQUENCE = tuple(f"{0x8000 | n:04x}" for n in range(MAX_PER_PATIENT))


def seed_tag(seed: int) -> str:
    return hashlib.sha256(f"carenav-synth:{seed}".encode()).hexdigest()[:8]


class PatientIds:
    """Id factory for one patient: ``ids.next("Condition")`` -> the next Condition id."""

    __slots__ = ("_counters", "_heads", "_tail")

    def __init__(self, tag: str, index: int) -> None:
        middle = f"{0x8000 | (index >> 48) & 0xFFF:04x}"
        self._heads = {name: f"{tag}-{number:04x}-{middle}-" for name, number in TYPE_NUMBER.items()}
        self._tail = f"-{index & 0xFFFFFFFFFFFF:012x}"
        self._counters = dict.fromkeys(TYPE_NUMBER, 0)

    def next(self, resource_type: str) -> str:
        n = self._counters[resource_type]
        self._counters[resource_type] = n + 1
        return self._heads[resource_type] + _SEQUENCE[n] + self._tail
