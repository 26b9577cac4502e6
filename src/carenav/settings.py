"""Runtime settings, read from CARENAV_* environment variables.

Nothing is built at import time: callers ask for ``get_settings()`` and pass what they need along.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings):
    """Everything an operator can set. Environment variables are named CARENAV_<FIELD>."""

    model_config = SettingsConfigDict(env_prefix="CARENAV_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_VAR_DIR / 'carenav.db'}",
        description="SQLAlchemy URL. SQLite (WAL) by default; postgresql+psycopg://... in production.",
    )
    secret_key: str = Field(
        default="dev-insecure-change-me",
        description="Signs session cookies and CSRF tokens. Set it in production.",
    )
    timezone: str = Field(default="America/New_York", description="Zone for new organizations.")
    secure_cookies: bool = Field(default=False, description="Send cookies only over HTTPS.")
    session_hours: float = Field(default=12.0, description="Idle time after which a login expires.")
    max_failed_logins: int = Field(default=5, description="Failed logins before an account locks.")
    lockout_minutes: int = Field(default=15, description="How long a locked account stays locked.")
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, description="Largest accepted request body.")
    max_hl7_message_bytes: int = Field(default=1024 * 1024, description="Largest accepted HL7 v2 message.")
    import_max_file_bytes: int = Field(
        default=256 * 1024 * 1024, description="Largest FHIR Bundle JSON file `carenav import` reads."
    )
    import_max_line_bytes: int = Field(
        default=16 * 1024 * 1024, description="Longest line (one resource) of a FHIR NDJSON file."
    )
    rules_dir: Path = Field(
        default=DEFAULT_VAR_DIR / "rules",
        description="Program rules per organization: <rules_dir>/<org-slug>.toml, else the shipped default.",
    )
    fhir_page_size: int = Field(default=50, description="Default FHIR searchset page size.")
    after_hours_phone: str | None = Field(
        default=None, description="The after-hours (nurse line) number printed on patients' care plans."
    )
    fixed_now: datetime | None = Field(
        default=None,
        description="A fixed clock for demos, training and tests: an ISO date-time with its zone "
        "(2026-03-02T09:00:00-05:00) that every part of the system reads as now.",
    )

    @field_validator("fixed_now")
    @classmethod
    def _zoned(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("CARENAV_FIXED_NOW needs its zone, e.g. 2026-03-02T09:00:00-05:00")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
