"""Migrations run from empty to head on both databases, and the models have not drifted from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from carenav.db.migrate import current_revision, downgrade, head_revision, require_current_schema, upgrade
from carenav.db.registry import load_all_models
from carenav.errors import SchemaOutOfDate
from tests.databases import engine_for, fresh_database_url


def test_head_has_no_drift_from_models(engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), load_all_models()
        )
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_empty_to_head_then_down_and_up_again(backend: str, tmp_path: Path) -> None:
    with fresh_database_url(backend, tmp_path, migrate=False) as url, engine_for(url) as engine:
        with pytest.raises(SchemaOutOfDate, match="carenav db upgrade"):
            require_current_schema(engine)
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        require_current_schema(engine)
        downgrade(engine, "base")
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
