"""Regenerate migration 0001 from the models. Only while nothing has been released: once a database
in use carries 0001, schema changes go into new revisions (alembic revision --autogenerate)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from carenav.db.engine import make_engine
from carenav.db.migrate import MIGRATIONS, alembic_config

VERSIONS = MIGRATIONS / "versions"
TARGET = VERSIONS / "0001_initial_record.py"
MESSAGE = "the patient record, accounts, audit and inbound messages"


def main() -> None:
    later = sorted(p.name for p in VERSIONS.glob("*.py") if p.name != TARGET.name and p.name != "__init__.py")
    if later:
        sys.exit(f"regen_initial_migration: revisions after 0001 exist ({', '.join(later)}); add a revision")
    TARGET.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'empty.db'}")
        with engine.begin() as connection:
            command.revision(alembic_config(connection), message=MESSAGE, autogenerate=True, rev_id="0001")
        engine.dispose()
    made = [p for p in VERSIONS.glob("0001_*.py") if p != TARGET]
    made[0].rename(TARGET)
    root = Path(__file__).resolve().parents[1]
    ruff = root / ".venv" / "bin" / "ruff"
    subprocess.run([str(ruff), "format", "--quiet", str(TARGET)], check=True)
    subprocess.run([str(ruff), "check", "--quiet", "--fix", str(TARGET)], check=False)
    print(f"wrote {TARGET.relative_to(root)}", file=sys.stderr)


if __name__ == "__main__":
    main()
