"""``deskloop serve``: the web app (API and playground) on one machine, without gunicorn."""

from __future__ import annotations

import click

from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(serve)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve_app(runtime: Runtime, host: str, port: int) -> None:
    """Serve with Werkzeug's threaded server: enough for the demo and one team's playground.
    Production runs the same factory under gunicorn (see the Procfile)."""
    import os
    from dataclasses import replace

    from core.app import create_app

    settings = runtime.settings
    if host in LOOPBACK and "DESKLOOP_SECURE_COOKIES" not in os.environ:
        # Plain HTTP on this machine only: a Secure cookie would never come back, so no one could sign in.
        settings = replace(settings, secure_cookies=False)
    click.echo(f"Deskloop on http://{host}:{port}/  (Ctrl+C to stop)")
    create_app(settings).run(host=host, port=port, debug=False, use_reloader=False, threaded=True)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.pass_obj
def serve(runtime: Runtime, host: str, port: int) -> None:
    """Serve the API and the playground (and, without Redis, scan for spikes every minute)."""
    if not runtime.settings.redis_url:
        start_insights_loop(runtime)
    serve_app(runtime, host, port)


def start_insights_loop(runtime: Runtime, every: float = 60.0):
    """The embedded default has no scheduler: a daemon thread scans every tenant each minute
    instead (with Redis, the Procfile's scheduler queues the same scan). A failed scan is logged
    and the next one tries again."""
    import logging
    import threading

    from core.insights.run import scan_all

    log = logging.getLogger("core.insights")
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                scan_all(runtime)
            except Exception:  # an outage of the database: the next minute retries
                log.exception("insight scan failed")

    threading.Thread(target=loop, name="insights", daemon=True).start()
    return stop
