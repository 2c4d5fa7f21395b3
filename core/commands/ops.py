"""Operating commands: migrate the database, run the RQ worker and the scheduler, export the encoder,
read stored tones again."""

from __future__ import annotations

import click

from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(migrate)
    group.add_command(worker)
    group.add_command(scheduler)
    group.add_command(encoder)
    group.add_command(retone)


@click.command()
@click.pass_obj
def migrate(runtime: Runtime) -> None:
    """Bring the database schema up to date."""
    _ = runtime.db  # opening the database migrates it
    click.echo(f"database at {runtime.db.engine.url.render_as_string(hide_password=True)} is up to date")
    for slug, name, imported in import_models_from_disk(runtime):
        click.echo(f"{slug}: {len(imported.versions)} {name} model version(s) moved into the database"
                   + (f", {imported.current} in service" if imported.current else "")
                   + (f"; left out (failed their checksum): {', '.join(imported.skipped)}" if imported.skipped else ""))


@click.command()
@click.option("--tenant", default=None, help="One tenant (default: every tenant).")
@click.pass_obj
def retone(runtime: Runtime, tenant: str | None) -> None:
    """Read every stored customer message's tone again with the current reader (after an upgrade
    that changes it); safe to interrupt and run again."""
    from sqlalchemy import select

    from core.store.retone import retone_tenant
    from core.store.tables import TenantRow

    if tenant is None:
        with runtime.db.admin_session() as session:
            slugs = list(session.scalars(select(TenantRow.slug).order_by(TenantRow.slug)).all())
    else:
        slugs = [tenant]
    for slug in slugs:
        click.echo(retone_tenant(runtime.db, runtime.db.tenant_id(slug)).summary(slug))


def import_models_from_disk(runtime: Runtime):
    """Each tenant's models an older release kept in this machine's models folder, moved into the
    database: yields (tenant, model name, what was imported)."""
    from sqlalchemy import select

    from core.ml.registry import ModelRegistry
    from core.store.tables import TenantRow

    with runtime.db.admin_session() as session:
        slugs = session.scalars(select(TenantRow.slug).order_by(TenantRow.slug)).all()
    for slug in slugs:
        folder = runtime.settings.models_dir / slug
        for name in sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else ():
            imported = ModelRegistry(runtime.settings.models_dir, slug, name, db=runtime.db,
                                     max_bytes=runtime.settings.max_model_bytes).import_from_disk()
            if imported is not None:
                yield slug, name, imported


@click.command()
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--nice", "niceness", default=10, show_default=True, type=click.IntRange(0, 19),
              help="Lower this worker's CPU priority by this much (0 keeps it).")
@click.pass_obj
def worker(runtime: Runtime, burst: bool, niceness: int) -> None:
    """Process background jobs from Redis (needs DESKLOOP_REDIS_URL).

    Workers run at a lower CPU priority than the web process by default: a helpdesk waits for a
    webhook's acknowledgement (and retries, or disables the hook, when it is slow), while the
    queued work can wait a moment. On a machine of their own this changes nothing."""
    import os

    from core.dispatch.queue import run_worker

    if not runtime.settings.redis_url:
        raise click.UsageError("DESKLOOP_REDIS_URL is not set; without Redis, jobs run in-process")
    if niceness:
        os.nice(niceness)
    run_worker(runtime.settings, burst=burst)


@click.command()
@click.option("--every", "interval", default=86400, show_default=True, help="Seconds between retrains of a tenant.")
@click.option("--sweep-every", default=15, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds between two looks for webhook events left pending.")
@click.option("--stuck-after", default=30, show_default=True, type=click.IntRange(1, 86400),
              help="Seconds an event may stay pending before the sweep enqueues a drain for its tenant.")
@click.pass_obj
def scheduler(runtime: Runtime, interval: int, sweep_every: int, stuck_after: int) -> None:
    """Enqueue periodic retraining and drains of webhook events left pending (needs DESKLOOP_REDIS_URL)."""
    from core.background.scheduler import run_scheduler

    if not runtime.settings.redis_url:
        raise click.UsageError("DESKLOOP_REDIS_URL is not set; on the embedded default run `deskloop train` instead")
    run_scheduler(runtime, interval, tick_seconds=sweep_every, stuck_after_seconds=stuck_after)


@click.group()
def encoder() -> None:
    """The sentence encoder suggestions read."""


@encoder.command("export")
@click.pass_obj
def encoder_export(runtime: Runtime) -> None:
    """Export the served sentence encoder to ONNX under DESKLOOP_ENCODER_DIR, once, at build time
    (needs the `export` extra: PyTorch and the weights). A server then runs without PyTorch."""
    import time

    from core.errors import BadInput
    from core.ml.encoder import export_served
    from core.ml.onnx_encoder import EncoderNotExported

    started = time.perf_counter()
    try:
        folder = export_served(runtime.settings.encoders_dir)
    except EncoderNotExported as exc:
        raise BadInput(str(exc)) from exc
    click.echo(f"sentence encoder ready in {folder} ({time.perf_counter() - started:.1f} s)")
