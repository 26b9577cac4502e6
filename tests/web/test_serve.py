"""`carenav serve` refuses a database whose schema is behind the code, before it listens."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from carenav.cli.main import cli
from carenav.settings import get_settings


def test_serve_refuses_an_unmigrated_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARENAV_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["serve", "--port", "8999"])
    assert result.exit_code == 1
    assert "carenav db upgrade" in result.stderr


def test_serve_checks_its_port() -> None:
    result = CliRunner().invoke(cli, ["serve", "--port", "70000"])
    assert result.exit_code == 2
    assert "70000" in result.stderr
