"""Database plumbing only: engines, sessions, portable column types, migrations."""
