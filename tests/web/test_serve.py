"""`carenav serve` refuses a database whose schema is behind the code, before it listens."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

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


def test_serve_checks_its_workers() -> None:
    result = CliRunner().invoke(cli, ["serve", "--workers", "0"])
    assert result.exit_code == 2
    assert "--workers" in result.stderr


def test_probes_answer_without_sign_in(client: TestClient) -> None:
    alive = client.get("/healthz")
    assert alive.status_code == 200
    assert alive.json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_readiness_says_when_the_database_is_gone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from carenav.db.engine import make_engine
    from carenav.db.migrate import upgrade
    from carenav.settings import Settings
    from carenav.web.app import create_app

    url = f"sqlite:///{tmp_path / 'ready.db'}"
    upgrade(make_engine(url))
    app = create_app(Settings(database_url=url))
    (tmp_path / "ready.db").unlink()
    (tmp_path / "ready.db").mkdir()  # the file is now a directory: SQLite cannot open it
    app.state.engine.dispose()
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "database unreachable" in response.json()["reason"]
