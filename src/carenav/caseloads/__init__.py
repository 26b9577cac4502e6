"""Caseloads: who carries which patients, reassignment with a trail, coverage while a care manager is away,
balancing suggestions, and the supervisor dashboard (``docs/caseloads.md``)."""
