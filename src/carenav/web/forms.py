"""Reading posted forms: choices of an enumeration, dates, whole numbers, every value of every field, a
safe way back. Each bad value is an ``InvalidInput`` naming the field."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TypeVar

from fastapi import Request

from carenav.errors import InvalidInput

E = TypeVar("E", bound=StrEnum)


async def posted_form(request: Request) -> dict[str, list[str]]:
    """Every text field of the posted form, with all its values (a FastAPI dependency)."""
    form = await request.form()
    return {name: [v for v in form.getlist(name) if isinstance(v, str)] for name in form}


def form_text(form: dict[str, list[str]], name: str) -> str:
    """The first value of a posted field, or "" when it was not sent."""
    return (form.get(name) or [""])[0]


def form_choice(kind: type[E], text: str, where: str) -> E:
    """``text`` as a member of ``kind``; InvalidInput listing the allowed values otherwise."""
    try:
        return kind(text)
    except ValueError:
        allowed = ", ".join(v.value for v in kind)
        raise InvalidInput(f"{text!r} is not one of {allowed}", where=where) from None


def form_date(text: str, where: str) -> date | None:
    """A date typed as YYYY-MM-DD (None when left empty)."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date like 2026-03-14", where=where) from None


def form_whole(text: str, where: str) -> int | None:
    """A whole number typed in a field (None when left empty)."""
    if not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInput(f"{text.strip()!r} is not a whole number", where=where) from None


def safe_back(back: str, default: str) -> str:
    """A same-site path to return to (never another site)."""
    return back if back.startswith("/") and not back.startswith("//") else default
