"""Jinja2 rendering: whole pages, or one named block of a page as an HTMX fragment."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from carenav import __version__
from carenav.web.navigation import nav_for

TEMPLATES = Path(__file__).parent / "templates"
UTC = ZoneInfo("UTC")


@pass_context
def _when(context: Context, value: datetime | None) -> str:
    """An instant in the organization's zone, e.g. 2021-03-04 14:05 EST."""
    if value is None:
        return ""
    zone: ZoneInfo = context.get("tz") or UTC
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


@pass_context
def _day(context: Context, value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        zone: ZoneInfo = context.get("tz") or UTC
        return value.astimezone(zone).date().isoformat()
    return value.isoformat()


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["day"] = _day
    return env


def is_htmx(request: Request) -> bool:
    """An HTMX request that wants a fragment (not a history restore, which wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(
    request: Request,
    template_name: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    nav_key: str | None = None,
) -> HTMLResponse:
    """The page ``template_name``, or only its ``block`` (an HTMX fragment)."""
    env: Environment = request.app.state.jinja
    login = getattr(request.state, "login", None)
    values: dict[str, Any] = {
        "request": request,
        "login": login,
        "csrf_token": login.csrf_token if login else "",
        "tz": login.timezone if login else UTC,
        "nav": nav_for(login.role) if login else [],
        "nav_key": nav_key,
        "version": __version__,
        **(context or {}),
    }
    template = env.get_template(template_name)
    if block is None:
        html = template.render(values)
    else:
        html = "".join(template.blocks[block](template.new_context(values)))
    return HTMLResponse(html, status_code=status_code)
