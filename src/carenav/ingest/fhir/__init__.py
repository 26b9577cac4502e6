"""FHIR R4 intake: Bundles, single resources and Bulk Data NDJSON into the patient record."""
