"""``deskloop serve``: the web app (API and playground) on one machine, without gunicorn."""

from __future__ import annotations

import threading

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
    """Serve the API and the playground (and, without Redis, scan for spikes every minute and send
    requested capabilities to Linear daily for the tenants that opted in, and publish each tenant's
    weekly digest on Monday mornings)."""
    if not runtime.settings.redis_url:
        start_insights_loop(runtime)
    serve_app(runtime, host, port)


class InsightsLoop:
    """The running loop's handle: ``stop`` waits for the tick in flight to finish, so whoever closes
    the runtime or empties the database next does not race a scan still writing."""

    def __init__(self, stop_event: threading.Event, thread: threading.Thread) -> None:
        self._stop_event = stop_event
        self._thread = thread

    def stop(self, timeout: float = 30.0) -> None:
        self._stop_event.set()
        self._thread.join(timeout)


def start_insights_loop(
    runtime: Runtime, every: float = 60.0, capabilities_every: float | None = None
) -> InsightsLoop:
    """The embedded default has no scheduler: a daemon thread scans every tenant each minute
    instead (with Redis, the Procfile's scheduler queues the same scan), and once a period
    (``capabilities_every``, a day by default) sends the opted-in tenants' requested capabilities to
    Linear (:mod:`core.notify.capability_sync`), the first time at its first tick, and publishes
    the weekly digests that are due (:mod:`core.notify.weekly_digest`: a read per tick once they are
    out). A failed scan, sync or digest is logged and the next tick tries again."""
    import logging
    import time

    from core.background.scheduler import CAPABILITIES_EVERY
    from core.insights.run import scan_all
    from core.notify.capability_sync import sync_all
    from core.notify.weekly_digest import publish_due

    log = logging.getLogger("core.insights")
    stop = threading.Event()
    period_seconds = capabilities_every or CAPABILITIES_EVERY
    synced: list[int] = []  # the period last synced, once there is one

    def loop() -> None:
        while not stop.wait(every):
            try:
                scan_all(runtime)
            except Exception:  # an outage of the database: the next minute retries
                log.exception("insight scan failed")
            try:
                publish_due(runtime)
            except Exception:  # the database unreachable: the next tick retries
                log.exception("weekly digest failed")
            period = int(time.time() // period_seconds)
            if synced[-1:] == [period]:
                continue
            try:
                sync_all(runtime)
                synced[:] = [period]
            except Exception:  # Linear or the database unreachable: the next tick retries
                log.exception("capability sync failed")

    thread = threading.Thread(target=loop, name="insights", daemon=True)
    thread.start()
    return InsightsLoop(stop, thread)
