"""Deterministic synthetic population generator (FHIR R4 NDJSON) for demos and benchmarks."""
