"""Columns shared by the record tables: keys, stable public ids, provenance, tenancy, kept documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from carenav.clock import now
from carenav.db.types import UTCDateTime, UUIDString, new_uuid

LOCAL_SOURCE = "carenav"
"""``source_system`` of records made inside carenav rather than imported."""


class KeyMixin:
    """Internal integer key plus the UUID exposed over FHIR and in URLs."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDString, unique=True, default=new_uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class DocumentMixin:
    """A file kept with a record (``carenav.documents``: what is kept, up to what size): its clean name, kind,
    size, SHA-256, content (loaded only when read), what it is, and who added it."""

    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    description: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(200))


class TenantMixin:
    """Organizations are hard tenants: every record row names its organization."""

    @declared_attr
    def org_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)


class SourceMixin(TenantMixin):
    """Where an imported record came from, so that re-importing updates it instead of duplicating it.

    ``org_id`` has no index of its own here: the unique (org_id, source_system, source_id) index leads
    with it, and serves every lookup, range and foreign-key cascade on ``org_id`` alone (SQLite and
    PostgreSQL both use a composite index's leading column), so a second index only slowed writes."""

    @declared_attr
    def org_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))

    source_system: Mapped[str] = mapped_column(String(200), default=LOCAL_SOURCE)
    source_id: Mapped[str | None] = mapped_column(String(200))
    # Digest of the imported content last written, so that re-importing unchanged data writes nothing.
    source_digest: Mapped[str | None] = mapped_column(String(32))

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (UniqueConstraint("org_id", "source_system", "source_id"),)


class PatientOwnedMixin:
    """A row that belongs to one patient's record."""

    @declared_attr
    def patient_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
