"""Snapshot writers: the record store of one organization (``record_store``) or a FHIR Bulk Data NDJSON
folder (``bulk_ndjson``), both written as the Parquet snapshot of ``carenav.analytics.snapshot``."""
