"""``deskloop labels`` and ``deskloop tags``: where a tenant's intents come from, and which tags
are never learned."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from core.access import audit
from core.access.audit import cli_actor
from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(labels)
    group.add_command(tags)
    group.add_command(intents)


@click.group()
def labels() -> None:
    """Label sources: which field, tags, group or macro says a ticket's intent."""


@labels.command("suggest")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def labels_suggest(runtime: Runtime, tenant: str, as_json: bool) -> None:
    """Rank the tenant's candidate label sources by coverage, number and balance of classes and
    how predictable each is from the customers' words (a quick cross-validation), with examples.
    Changes nothing."""
    from core.labelling.settings import suggest_sources

    current, reports = suggest_sources(runtime, tenant)
    if as_json:
        click.echo(json.dumps({"tenant": tenant, "current": current, "candidates": [r.as_dict() for r in reports]}))
        return
    table = Table("#", "source", "what", "coverage", "classes", "balance", "predictable", "score", "examples",
                  title=f"label sources for {tenant} (in use: {current})")
    for number, r in enumerate(reports, start=1):
        if r.rejected:
            table.add_row(str(number), r.source, r.description, "", "", "", "", "", f"not usable: {r.rejected}")
            continue
        examples = "; ".join(f"{e['value']} ({e['tickets']})" for e in r.examples[:3])
        table.add_row(str(number), r.source, r.description, f"{r.coverage:.0%}", str(r.classes), f"{r.balance:.2f}",
                      f"{r.predictability:.2f}", f"{r.score:.2f}", examples)
    Console(width=200).print(table)
    usable = [r for r in reports if not r.rejected]
    if usable:
        click.echo(f"to learn intents from the best: deskloop labels use --tenant {tenant} '{usable[0].source}'")
    else:
        click.echo(f"no usable label source: try `deskloop intents discover --tenant {tenant}`")


@labels.command("use")
@click.argument("source")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.pass_obj
def labels_use(runtime: Runtime, source: str, tenant: str) -> None:
    """Learn intents from SOURCE (intent, field:KEY, type, group, form, macro, tags:PREFIX*,
    tags:A,B,C or discovered). Checked on the stored tickets first; the next training relabels
    the history."""
    from core.labelling.settings import use_source

    result = use_source(runtime, tenant, source)
    audit.record(runtime, cli_actor(), "labels.use", tenant=tenant, target=result["source"],
                 detail={"previous": result["previous"]})
    click.echo(f"{tenant} now learns intents from {result['source']} (was {result['previous']}): "
               f"{result['labelled']:,} of {result['tickets']:,} tickets labelled, {result['classes']} intents; "
               f"run `deskloop train --tenant {tenant}` to relabel and train")


@click.group()
def tags() -> None:
    """Tags Deskloop never learns or suggests (beside the automation tags it finds by itself)."""


@tags.command("exclude")
@click.argument("names", nargs=-1, required=True)
@click.option("--tenant", required=True, help="Tenant slug.")
@click.pass_obj
def tags_exclude(runtime: Runtime, names: tuple[str, ...], tenant: str) -> None:
    """Never learn or suggest the tags NAMES (a trigger adds them, or they mean nothing)."""
    from core.labelling.settings import exclude_tags

    excluded = exclude_tags(runtime, tenant, list(names))
    audit.record(runtime, cli_actor(), "tags.exclude", tenant=tenant, detail={"tags": list(names)})
    click.echo("excluded tags: " + ", ".join(excluded))


@tags.command("include")
@click.argument("names", nargs=-1, required=True)
@click.option("--tenant", required=True, help="Tenant slug.")
@click.pass_obj
def tags_include(runtime: Runtime, names: tuple[str, ...], tenant: str) -> None:
    """Learn the tags NAMES again."""
    from core.labelling.settings import exclude_tags

    remaining = exclude_tags(runtime, tenant, list(names), include=True)
    audit.record(runtime, cli_actor(), "tags.include", tenant=tenant, detail={"tags": list(names)})
    click.echo("excluded tags: " + (", ".join(remaining) or "none"))


@click.group()
def intents() -> None:
    """Intents discovered from the customers' words, for tenants with no labels at all."""


def _print_intents(listing: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(listing))
        return
    table = Table("key", "status", "tickets", "label", "example", title=f"intents of {listing['tenant']}")
    for intent in listing["intents"]:
        table.add_row(intent["key"], intent["status"], str(intent["size"]), intent["label"],
                      (intent["examples"] or [""])[0][:80])
    Console(width=200).print(table)


@intents.command("discover")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--min-size", default=5, show_default=True, type=click.IntRange(min=2),
              help="Smallest group of tickets proposed as an intent.")
@click.option("--json", "as_json", is_flag=True, help='Print {"intents": [{"key", "label", "size", ...}]}.')
@click.pass_obj
def intents_discover(runtime: Runtime, tenant: str, min_size: int, as_json: bool) -> None:
    """Propose intents from the tickets no accepted intent holds (replacing earlier proposals;
    accepted intents stay). Nothing is learned until they are accepted."""
    from core.labelling.proposals import discover

    _print_intents(discover(runtime, tenant, min_size), as_json)


@intents.command("list")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def intents_list(runtime: Runtime, tenant: str, as_json: bool) -> None:
    """Proposed and accepted intents, largest first."""
    from core.labelling.proposals import listing

    _print_intents(listing(runtime, tenant), as_json)


@intents.command("accept")
@click.argument("keys", nargs=-1)
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--all", "every", is_flag=True, help="Accept every proposed intent.")
@click.pass_obj
def intents_accept(runtime: Runtime, keys: tuple[str, ...], tenant: str, every: bool) -> None:
    """Accept intents: their tickets become training labels (label source `discovered`)."""
    from core.labelling.proposals import accept

    result = accept(runtime, tenant, list(keys), every)
    audit.record(runtime, cli_actor(), "intents.accept", tenant=tenant, detail={"keys": list(keys), "all": every})
    click.echo(f"accepted {len(result['accepted'])} intents; {tenant} learns intents from discovered "
               f"(was {result['previous_label_source']}); run `deskloop train --tenant {tenant}`")


@intents.command("rename")
@click.argument("key")
@click.argument("label")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.pass_obj
def intents_rename(runtime: Runtime, key: str, label: str, tenant: str) -> None:
    """Give intent KEY the name LABEL (its key follows)."""
    from core.labelling.proposals import rename

    result = rename(runtime, tenant, key, label)
    audit.record(runtime, cli_actor(), "intents.rename", tenant=tenant, target=key, detail={"label": label})
    click.echo(f"renamed {result['previous_key']} to {result['key']} ({result['label']})")


@intents.command("merge")
@click.argument("keys", nargs=-1, required=True)
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--into", default=None, help="The intent that remains (default: the first named).")
@click.pass_obj
def intents_merge(runtime: Runtime, keys: tuple[str, ...], tenant: str, into: str | None) -> None:
    """Merge intents KEYS into one."""
    from core.labelling.proposals import merge

    result = merge(runtime, tenant, list(keys), into)
    audit.record(runtime, cli_actor(), "intents.merge", tenant=tenant, target=result["key"],
                 detail={"keys": list(keys)})
    click.echo(f"merged {', '.join(result['merged'])} into {result['key']} ({result['size']} tickets)")


@intents.command("split")
@click.argument("key")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--parts", default=2, show_default=True, type=int, help="How many intents to split it into.")
@click.pass_obj
def intents_split(runtime: Runtime, key: str, tenant: str, parts: int) -> None:
    """Split intent KEY into PARTS proposed intents by the wording of its tickets."""
    from core.labelling.proposals import split

    result = split(runtime, tenant, key, parts)
    audit.record(runtime, cli_actor(), "intents.split", tenant=tenant, target=key, detail={"parts": parts})
    click.echo(f"split {result['split']} into {', '.join(result['into'])} (proposed: accept them to learn them)")
