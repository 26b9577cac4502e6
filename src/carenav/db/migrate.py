"""Schema migrations (Alembic) driven from code: upgrade, revisions, the out-of-date check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from carenav.errors import SchemaOutOfDate

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_current_schema(engine: Engine) -> None:
    """Refuse to work on a database whose schema is missing or behind the code."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no carenav schema" if current is None else f"is at revision {current}, not {head}"
        raise SchemaOutOfDate(
            f"the database {engine.url.render_as_string(hide_password=True)} {state}; "
            "run 'carenav db upgrade' first"
        )
