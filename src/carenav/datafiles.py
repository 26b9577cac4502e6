"""Reading the data carenav ships as TOML (care-plan templates, education topics, cadence and protocol
rules, note templates...): each refusal names the file and the entry at fault. Pure: no SQL, no HTTP."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeGuard

from carenav.errors import InvalidInput


def toml_read(path: Path) -> dict[str, Any]:
    """The document in ``path``; InvalidInput naming the file when it cannot be read or parsed."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"not a readable TOML file ({exc})", where=str(path)) from None


def toml_tables(
    document: Mapping[str, Any], key: str, where: str, *, required: bool = False
) -> list[Mapping[str, Any]]:
    """The array of tables ``[[key]]`` (empty when absent, unless ``required``)."""
    items = document.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items) or (required and not items):
        wanted = "a list of one or more tables" if required else "a list of tables"
        raise InvalidInput(f"[[{key}]] must be {wanted}", where=where)
    return items


def toml_text(raw: Mapping[str, Any], key: str, where: str) -> str:
    """A required, non-blank string, stripped."""
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{key} is missing or empty", where=where)
    return value.strip()


def is_whole(value: Any) -> TypeGuard[int]:
    """An integer (TOML's booleans are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool)
