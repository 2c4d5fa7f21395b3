"""The ``deskloop`` command. Each group of subcommands lives in its own module in ``core.commands``."""

from __future__ import annotations

import importlib
import logging

import click

from core.errors import BadInput
from core.logs import LOG_FORMATS, LogFormat, configure
from core.ml.registry import ModelLoadError
from core.runtime import Runtime
from core.store.db import UnknownTenantError

#: Modules in ``core.commands`` that each define ``register(group)``.
COMMAND_MODULES = ("ops", "learning", "feedback", "ingest", "taxonomy", "labels", "demo", "web", "helpdesk",
                   "manifests", "access", "events", "insights", "churn", "notifiers", "autonomy", "widget")


class DeskloopGroup(click.Group):
    """Turns bad input (and asking for a model that is not there) into a clear message and exit
    code 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (BadInput, UnknownTenantError, ModelLoadError) as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=DeskloopGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default=None,
              help="Log lines as text (the default) or one JSON object each; default DESKLOOP_LOG_FORMAT.")
@click.pass_context
def main(ctx: click.Context, verbose: bool, log_format: LogFormat | None) -> None:
    """Deskloop: a helpdesk plugin that learns from every support ticket."""
    runtime = Runtime()
    configure(log_format or runtime.settings.log_format, logging.DEBUG if verbose else logging.INFO)
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


for _name in COMMAND_MODULES:
    importlib.import_module(f"core.commands.{_name}").register(main)


if __name__ == "__main__":  # `python -m core.cli`, for benchmarks that run the command in a fresh process
    main()
