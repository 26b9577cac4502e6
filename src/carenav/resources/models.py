"""The community resource directory: organizations, their services and locations (imported from Open
Referral HSDS, or kept in the app), which services are offered where, their weekly hours and their
taxonomy terms. Rows keep the directory they came from (``source_system`` ``hsds:<name>``, the HSDS id in
``source_id``), so importing the same directory again updates instead of duplicating."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Table, Text, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carenav.db.mixins import KeyMixin, SourceMixin
from carenav.db.types import Base, JSONDocument, UTCDateTime


class ResourceOrganization(KeyMixin, SourceMixin, Base):
    __tablename__ = "resource_organizations"

    name: Mapped[str] = mapped_column(String(300))
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(500))


resource_service_locations = Table(
    "resource_service_locations",
    Base.metadata,
    Column("service_id", ForeignKey("resource_services.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "location_id", ForeignKey("resource_locations.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class ResourceService(KeyMixin, SourceMixin, Base):
    """A service: what it offers, to whom (eligibility, ages, areas), in which languages, at what cost,
    how to apply; ``phones``: its phone numbers as given (number, extension, type, description)."""

    __tablename__ = "resource_services"

    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_organizations.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(32), default="active")
    application_process: Mapped[str | None] = mapped_column(Text)
    fees: Mapped[str | None] = mapped_column(Text)
    eligibility: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    maximum_age: Mapped[int | None] = mapped_column(Integer)
    interpretation_services: Mapped[str | None] = mapped_column(Text)
    areas: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    languages: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    phones: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    served_counties: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    """Eligibility by residence: the counties served ("Miami-Dade County"); empty: anywhere."""
    served_zip_codes: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    """Eligibility by residence: the ZIP codes served (a resident of one is eligible even outside the
    counties); empty: no ZIP restriction."""
    income_limit_fpl: Mapped[int | None] = mapped_column(Integer)
    """Eligibility by income: the highest household income taken, in percent of the federal poverty level."""
    edited_by: Mapped[str | None] = mapped_column(String(200))
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[ResourceOrganization | None] = relationship(lazy="joined")
    locations: Mapped[list[ResourceLocation]] = relationship(
        secondary=resource_service_locations, order_by="ResourceLocation.id", lazy="selectin"
    )


class ResourceLocation(KeyMixin, SourceMixin, Base):
    """Where services are given: its address (the physical one where there is one), coordinates,
    accessibility and how to get there."""

    __tablename__ = "resource_locations"
    __table_args__ = (Index("ix_resource_locations_postal_code", "postal_code"),)

    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_organizations.id", ondelete="SET NULL")
    )
    name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    transportation: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    address_1: Mapped[str | None] = mapped_column(String(300))
    address_2: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str | None] = mapped_column(String(60))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    accessibility: Mapped[str | None] = mapped_column(Text)
    phones: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)


class ResourceSchedule(Base):
    """A service's hours on one weekday (1 Monday .. 7 Sunday; empty: hours as text only)."""

    __tablename__ = "resource_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("resource_services.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int | None] = mapped_column(Integer)
    opens_at: Mapped[time | None] = mapped_column(Time)
    closes_at: Mapped[time | None] = mapped_column(Time)
    description: Mapped[str | None] = mapped_column(Text)


class ResourceTerm(Base):
    """A taxonomy term of a service (AIRS/211 codes, or an HSDS 3.0 taxonomy's)."""

    __tablename__ = "resource_terms"
    __table_args__ = (Index("ix_resource_terms_code", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("resource_services.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(120))
    name: Mapped[str | None] = mapped_column(String(300))
    vocabulary: Mapped[str | None] = mapped_column(String(200))
