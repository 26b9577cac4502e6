"""Edges that bring records in: FHIR R4 bundles and NDJSON, HL7 v2 ADT files and an MLLP listener."""
