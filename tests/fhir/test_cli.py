"""carenav tokens create/list/revoke and carenav export, through the command line."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from carenav.accounts.models import ApiToken
from carenav.accounts.tokens import api_token_verify, token_digest
from carenav.cli.main import cli
from carenav.db.engine import make_engine
from carenav.errors import Unauthenticated
from carenav.settings import get_settings
from tests.builders import make_org, make_patient
from tests.fhir.validation import assert_valid
from tests.fhir.world import build_world, make_user


@pytest.fixture
def database(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CARENAV_DATABASE_URL", fresh_db_url)
    get_settings.cache_clear()
    return fresh_db_url


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_token_lifecycle(database: str) -> None:
    engine = make_engine(database)
    with Session(engine) as session:
        org = make_org(session, slug="clinic")
        make_user(session, org, "cara", "care_manager")
        session.commit()

    code, out, err = run("tokens", "create", "--username", "cara", "--name", "laptop", "--expires-days", "30")
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("cn_")
    assert len(secret) > 40
    assert "cannot be shown again" in err

    with Session(engine) as session:
        stored = session.scalar(select(ApiToken))
        assert stored is not None
        assert stored.token_hash == token_digest(secret)
        assert secret not in (stored.token_hash, stored.prefix, stored.name, stored.scopes)
        assert stored.scopes == "fhir:read"
        assert stored.expires_at is not None
        api_token_verify(session=session, secret=secret)
        session.commit()

    code, out, err = run("tokens", "list", "--username", "cara", "--json")
    assert code == 0, err
    [listed] = orjson.loads(out)
    assert listed["name"] == "laptop"
    assert listed["state"] == "active"
    assert listed["last_used_at"] is not None
    assert secret not in out
    assert secret[:11] == listed["prefix"]

    code, out, err = run("tokens", "revoke", str(listed["id"]))
    assert code == 0, err
    with Session(engine) as session, pytest.raises(Unauthenticated, match="revoked"):
        api_token_verify(session=session, secret=secret)
    code, out, _ = run("tokens", "list")
    assert "revoked" in out

    code, _, err = run("tokens", "create", "--username", "nobody")
    assert code == 1
    assert "no user 'nobody'" in err
    code, _, err = run("tokens", "create", "--username", "cara", "--scope", "fhir:delete")
    assert code == 2  # click refuses an unknown scope
    assert "fhir:write" in err  # and lists the known ones
    code, out, err = run(
        "tokens", "create", "--username", "cara", "--scope", "fhir:read", "--scope", "fhir:export", "--json"
    )
    assert code == 0, err
    assert orjson.loads(out)["scopes"] == ["fhir:export", "fhir:read"]
    code, out, err = run("tokens", "create", "--username", "cara", "--scope", "fhir:write", "--json")
    assert code == 0, err
    assert orjson.loads(out)["scopes"] == ["fhir:write"]
    engine.dispose()


def test_export_writes_bulk_data_layout(database: str, tmp_path: Path) -> None:
    engine = make_engine(database)
    with Session(engine) as session:
        world = build_world(session)
        slug = world.org.slug
        other = make_patient(session, world.other_org, family="Elsewhere")
        other_uuid = other.uuid
        session.commit()
    engine.dispose()

    out = tmp_path / "bulk"
    code, stdout, err = run("export", str(out), "--org", slug, "--json")
    assert code == 0, err
    summary = orjson.loads(stdout)
    assert summary["patients"] == 2  # Amy and Bob; not the other organization's patients
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["transactionTime"]
    files = {item["type"]: item for item in manifest["output"]}
    assert files["Patient"]["count"] == 2
    assert files["Observation"]["count"] == 5
    assert files["CareTeam"]["count"] == 1
    assert "Organization" not in files  # none held: no empty files
    for resource_type, item in files.items():
        path = out / item["url"]
        lines = path.read_bytes().splitlines()
        assert len(lines) == item["count"]
        for line in lines:
            resource = orjson.loads(line)
            assert resource["resourceType"] == resource_type
            assert_valid(resource)
            assert other_uuid not in line.decode()
    assert sorted(p.name for p in out.iterdir()) == sorted([*(f"{t}.ndjson" for t in files), "manifest.json"])

    code, _, err = run("export", str(out), "--org", slug)
    assert code == 1
    assert "already holds an export" in err
