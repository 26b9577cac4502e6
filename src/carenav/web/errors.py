"""Errors translated at the edge: an HTML error page (or, for HTMX, its fragment) with the status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from carenav.errors import CarenavError
from carenav.web.dependencies import LoginRequired
from carenav.web.rendering import is_htmx, render

TITLES = {
    400: "Something in the request is not right",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    422: "Not possible",
    503: "Unavailable",
}


def error_response(request: Request, status: int, message: str, where: str | None = None) -> Response:
    context = {"status": status, "title": TITLES.get(status, "Error"), "message": message, "where": where}
    if is_htmx(request):
        return render(request, "error.html", context, block="error", status_code=status)
    return render(request, "error.html", context, status_code=status)


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='')}"
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


def register_edge_errors(app: FastAPI, prefix: str, handler: ErrorHandler) -> None:
    """Let an edge with its own error format (the FHIR facade: OperationOutcome) answer the errors
    raised under ``prefix`` itself; everything else gets HTML error pages."""
    app.state.edge_error_handlers[prefix] = handler


def _edge_handler(request: Request) -> ErrorHandler | None:
    handlers: dict[str, ErrorHandler] = request.app.state.edge_error_handlers
    for prefix, handler in handlers.items():
        if request.url.path.startswith(prefix):
            return handler
    return None


async def _carenav_error(request: Request, exc: Exception) -> Response:
    edge = _edge_handler(request)
    if edge is not None:
        return await edge(request, exc)
    if isinstance(exc, LoginRequired):
        return login_redirect(request)
    assert isinstance(exc, CarenavError)
    return error_response(request, exc.http_status, exc.message, exc.where)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    edge = _edge_handler(request)
    if edge is not None:
        return await edge(request, exc)
    message = "there is no page at this address" if exc.status_code == 404 else str(exc.detail)
    return error_response(request, exc.status_code, message)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    edge = _edge_handler(request)
    if edge is not None:
        return await edge(request, exc)
    parts = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error.get("loc", ()) if p not in {"query", "body", "path"})
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    return error_response(request, 400, "; ".join(parts) or "invalid request")


def install_error_pages(app: FastAPI) -> None:
    """Pages' error handlers. Routers with their own error format (FHIR) handle their errors first."""
    app.state.edge_error_handlers = {}
    app.add_exception_handler(CarenavError, _carenav_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
