"""``deskloop taxonomy``: merge duplicate tags, find likely duplicates, list the vocabulary."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from core.access import audit
from core.access.audit import cli_actor
from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(taxonomy)


def _interactive() -> bool:
    """Whether someone can answer a prompt: a pipe or CI never confirms anything by accident."""
    return sys.stdin.isatty()


@click.group()
def taxonomy() -> None:
    """A tenant's tags and intents: aliases and merges."""


@taxonomy.command()
@click.argument("alias")
@click.argument("canonical")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.pass_obj
def merge(runtime: Runtime, alias: str, canonical: str, tenant: str) -> None:
    """Make ALIAS a name for CANONICAL, on existing tickets and on later imports."""
    from core.labelling import taxonomy as vocabulary

    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        result = vocabulary.merge(session, tenant_id, alias, canonical)
    audit.record(runtime, cli_actor(), "tags.merge", tenant=tenant, target=result.canonical,
                 detail={"alias": result.alias, "tickets_changed": result.tickets_changed})
    line = f"merged {result.alias!r} into {result.canonical!r}: {result.tickets_changed} tickets changed"
    if result.aliases_repointed:
        line += f", {result.aliases_repointed} older aliases now point at {result.canonical!r}"
    click.echo(line)


@taxonomy.command("list")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.pass_obj
def list_(runtime: Runtime, tenant: str) -> None:
    """Show the tenant's aliases and how many tickets carry each tag and intent."""
    from core.labelling import taxonomy as vocabulary

    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        aliases = vocabulary.load_aliases(session)
        tags, intents = vocabulary.tag_counts(session)
    console = Console()
    if aliases:
        table = Table("alias", "canonical", title="aliases")
        for alias, canonical in sorted(aliases.items()):
            table.add_row(alias, canonical)
        console.print(table)
    else:
        console.print("no aliases")
    table = Table("name", "as tag", "as intent", title="tags and intents")
    for name in sorted(set(tags) | set(intents), key=lambda n: (-(tags[n] + intents[n]), n)):
        table.add_row(name, str(tags[name]), str(intents[name]))
    console.print(table)


@taxonomy.command()
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--apply", "apply_", is_flag=True, help="Offer to merge each suggested pair.")
@click.option("--yes", is_flag=True, help="With --apply: merge every pair shown without asking.")
@click.option("--limit", default=10, show_default=True, help="Most pairs to show.")
@click.option("--similarity", default=0.8, show_default=True, help="Cosine similarity for near-identical tickets.")
@click.pass_obj
def suggest(runtime: Runtime, tenant: str, apply_: bool, yes: bool, limit: int, similarity: float) -> None:
    """List tags that look like duplicates, with the evidence; change nothing unless confirmed."""
    from core.labelling import taxonomy as vocabulary

    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        suggestions = vocabulary.suggest_merges(session, similarity=similarity, limit=limit)
    if not suggestions:
        click.echo("no likely duplicate tags found")
        return
    table = Table("#", "alias", "canonical", "score", "near pairs", "tickets", "name sim.", "example tickets",
                  title="likely duplicate tags (alias would become canonical)")
    for number, s in enumerate(suggestions, start=1):
        examples = "; ".join(f"{a} ~ {b}" for a, b in s.examples)
        table.add_row(str(number), s.alias, s.canonical, f"{s.score:.2f}", str(s.near_pairs),
                      f"{s.alias_count} / {s.canonical_count}", f"{s.name_similarity:.2f}", examples)
    Console().print(table)
    if not apply_:
        click.echo("nothing changed; run with --apply to merge pairs")
        return
    if not yes and not _interactive():
        click.echo("not a terminal: nothing applied; pass --yes to merge every pair shown")
        return
    merged: set[str] = set()
    for s in suggestions:
        if s.alias in merged or s.canonical in merged:
            continue  # an earlier merge in this run renamed one of them
        if not yes and not click.confirm(f"merge {s.alias!r} into {s.canonical!r}?", default=False):
            continue
        with runtime.db.transaction(tenant_id) as session:
            result = vocabulary.merge(session, tenant_id, s.alias, s.canonical)
        audit.record(runtime, cli_actor(), "tags.merge", tenant=tenant, target=result.canonical,
                     detail={"alias": result.alias, "tickets_changed": result.tickets_changed})
        merged.add(s.alias)
        click.echo(f"merged {result.alias!r} into {result.canonical!r}: {result.tickets_changed} tickets changed")
