"""Searchset Bundles with ``total``, ``self``/``next``/``previous`` links and ``fullUrl``s. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from carenav.fhir.search import COUNT, OFFSET


def page_url(base: str, path: str, params: Sequence[tuple[str, str]], *, count: int, offset: int) -> str:
    query = [*params, (COUNT, str(count)), (OFFSET, str(offset))]
    return f"{base}/{path}?{urlencode(query)}"


def searchset_bundle(
    *,
    base: str,
    path: str,
    params: Sequence[tuple[str, str]],
    resources: Sequence[dict[str, Any]],
    total: int,
    count: int,
    offset: int,
    outcome: dict[str, Any] | None = None,
    included: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """One page of a search. ``base`` is the facade's absolute base URL; ``path`` what was searched
    (``Patient`` or ``Patient/123/$everything``); ``params`` the applied search parameters."""
    links = [{"relation": "self", "url": page_url(base, path, params, count=count, offset=offset)}]
    if count > 0 and offset + count < total:
        links.append(
            {"relation": "next", "url": page_url(base, path, params, count=count, offset=offset + count)}
        )
    if offset > 0 and count > 0:
        previous = max(offset - count, 0)
        links.append(
            {"relation": "previous", "url": page_url(base, path, params, count=count, offset=previous)}
        )
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{base}/{item['resourceType']}/{item['id']}",
            "resource": item,
            "search": {"mode": "match"},
        }
        for item in resources
    ]
    entries.extend(
        {
            "fullUrl": f"{base}/{item['resourceType']}/{item['id']}",
            "resource": item,
            "search": {"mode": "include"},
        }
        for item in included
    )
    if outcome is not None:
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links}
    if entries:
        bundle["entry"] = entries
    return bundle
