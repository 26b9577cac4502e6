"""carenav serve: run the web application with uvicorn."""

from __future__ import annotations

import click
import uvicorn

from carenav.cli.context import fails_cleanly


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes, each with its own connection pool; two per core is a good start.",
)
@fails_cleanly
def serve_command(host: str, port: int, workers: int) -> None:
    """Serve the web pages and the FHIR facade (database from CARENAV_DATABASE_URL)."""
    from carenav.web.workers import APP_FACTORY, reuse_port_supported, serve_workers, served_app

    app = served_app()  # refuses an out-of-date schema before listening
    click.echo(
        f"carenav serving on http://{host}:{port}/ with {workers} worker{'s' if workers > 1 else ''}"
        " (Ctrl-C stops)"
    )
    options = {
        "host": host,
        "port": port,
        "proxy_headers": False,
        "server_header": False,
        "log_level": "info",
    }
    if workers == 1:
        uvicorn.run(app, **options)  # type: ignore[arg-type]
        return
    app.state.engine.dispose()  # the workers build their own; this one only checked the schema
    if reuse_port_supported():  # each worker builds its own app (and engine) and listens on its own socket
        port_options = {k: v for k, v in options.items() if k not in {"host", "port"}}
        try:
            status = serve_workers(
                host, port, workers, port_options, say=lambda text: click.echo(text, err=True)
            )
        except OSError as error:
            raise click.ClickException(str(error)) from None
        if status:
            raise SystemExit(status)
    else:  # one socket the workers share (see carenav.web.workers)
        uvicorn.run(APP_FACTORY, factory=True, workers=workers, **options)  # type: ignore[arg-type]
