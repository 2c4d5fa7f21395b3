"""``deskloop import``: load tickets from a CSV export or a JSONL file in the common shape."""

from __future__ import annotations

import click

from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(import_tickets)


#: CSV column flags, shared by every command that reads a ticket file (import, evaluate, replay).
_FIELD_OPTIONS = (
    click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default=None,
                 help="File format. Default: from the extension (.csv, .jsonl, .ndjson)."),
    click.option("--text-field", default="text", show_default=True, help="CSV column with the customer's message."),
    click.option("--subject-field", default=None, help="CSV column with the subject."),
    click.option("--label-field", default=None, help="CSV column with the intent label."),
    click.option("--id-field", default=None,
                 help="CSV column with the ticket id. Without it, the id is derived from the text, "
                      "so importing the same file again updates instead of duplicating."),
    click.option("--created-field", default=None,
                 help="CSV column with the creation time (ISO 8601 or epoch seconds)."),
    click.option("--tags-field", default=None, help="CSV column with tags separated by commas or semicolons."),
    click.option("--requester-field", default=None, help="CSV column with the requester's name."),
    click.option("--email-field", default=None, help="CSV column with the requester's email."),
    click.option("--organization-field", default=None, help="CSV column with the requester's organization."),
    click.option("--status-field", default=None, help="CSV column with the status (new, open, pending, solved, ...)."),
    click.option("--priority-field", default=None, help="CSV column with the priority (low, normal, high, urgent)."),
    click.option("--reply-field", default=None, help="CSV column with the agent's reply."),
    click.option("--source", default=None,
                 help="Source name stored with each ticket (default \"import\"; a JSONL ticket's own source wins)."),
)
_MAPPED = ("text", "subject", "label", "id", "created", "tags", "requester", "email", "organization", "status",
           "priority", "reply")


def ticket_file_options(command):
    """Add the format, source and CSV field-mapping flags; the command receives ``reading`` instead."""
    for option in reversed(_FIELD_OPTIONS):
        command = option(command)
    return command


def reading_options(kwargs: dict) -> dict:
    """Pop the flags added by :func:`ticket_file_options` into ``fmt``, ``mapping`` and ``source``."""
    from core.ingest import FieldMap

    mapping = FieldMap(**{name: kwargs.pop(f"{name}_field") for name in _MAPPED})
    return {"fmt": kwargs.pop("fmt"), "mapping": mapping, "source": kwargs.pop("source")}


@click.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option("--tenant", required=True, help="Tenant slug; created if it does not exist.")
@ticket_file_options
@click.pass_obj
def import_tickets(runtime: Runtime, path: str, tenant: str, **flags) -> None:
    """Import tickets from PATH into a tenant, all or nothing.

    A CSV row becomes a ticket with one customer message (and an agent message with --reply-field);
    a JSONL line is a whole ticket in the common shape. Any bad value stops the import, names the
    file, line and field, and leaves the database unchanged (exit code 2).
    """
    from core.ingest import import_file

    result = import_file(runtime.db, path, tenant, **reading_options(flags))
    click.echo(result.summary())
