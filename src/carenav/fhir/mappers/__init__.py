"""Pure mappers from our record to FHIR R4 JSON: one module per resource type.

A mapper takes an ORM row (or plain data) and a ``Refs`` of public ids, and returns a dict.
It opens no session and imports no SQLAlchemy at run time.
"""
