"""Training and suggestions from the command line."""

from __future__ import annotations

import json
import time

import click

from core.commands.ingest import reading_options, ticket_file_options
from core.errors import BadInput
from core.ml.abstention import DEFAULT_NOVELTY_BUDGET, DEFAULT_TARGET_PRECISION
from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(train)
    group.add_command(suggest)
    group.add_command(evaluate)
    group.add_command(abstention)


@click.command()
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--background", is_flag=True, help="Queue the training job (RQ when DESKLOOP_REDIS_URL is set).")
@click.option("--force", is_flag=True, help="Put the new version in service even if it is worse on the newest tickets.")
@click.pass_obj
def train(runtime: Runtime, tenant: str, background: bool, force: bool) -> None:
    """Train a new model version from the tenant's tickets and signals; it goes into service
    unless it is worse than the current one on the newest tickets."""
    from core.background import tasks
    from core.dispatch.queue import enqueue

    runtime.db.tenant_id(tenant)  # fail early, with exit code 2, for an unknown tenant
    started = time.perf_counter()
    if background:
        outcome = enqueue(tasks.train_tenant, tenant, force, job_id=f"train:{tenant}", settings=runtime.settings)
        click.echo(f"training job {outcome.job_id}: {outcome.mode}")
        return
    try:
        result = tasks.train_tenant(tenant, force)
    except ValueError as exc:  # not enough labelled tickets to learn from
        raise BadInput(str(exc)) from exc
    if not result["promoted"]:
        click.echo(f"kept the model in service: {result['reason']} (`--force` puts the new one in service anyway)")
        return
    metrics = result["metrics"]
    if not metrics.get("n_intents"):
        click.echo(
            f"trained {tenant} model {result['version']} in {time.perf_counter() - started:.1f} s without intents "
            f"(no intent labels yet): similar tickets from {metrics.get('n_resolved', 0)} resolved tickets, "
            f"{metrics.get('n_tags_learned', 0)} tags learned; `deskloop labels suggest --tenant {tenant}` says "
            "where intents could come from"
        )
        return
    click.echo(
        f"trained {tenant} model {result['version']} in {time.perf_counter() - started:.1f} s: "
        f"{metrics.get('n_labelled', 0)} labelled tickets, {metrics.get('n_intents', 0)} intents, "
        f"cross-validated accuracy {metrics.get('cv_accuracy', 0):.3f}, "
        f"abstaining where answers would be right less than {metrics.get('target_precision', 0):.1%} of the time; "
        f"{result['reason']}"
    )


@click.command()
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--text", required=True, help="The customer's message.")
@click.option("--customer-name", default=None, help="Used to personalize the draft.")
@click.option("--json", "as_json", is_flag=True, help="Print the suggestion as JSON.")
@click.pass_obj
def suggest(runtime: Runtime, tenant: str, text: str, customer_name: str | None, as_json: bool) -> None:
    """Suggest intent, tags, entities, similar tickets and a draft for a message."""
    from core.suggesting.suggest import suggest as make_suggestion

    if not text.strip():
        raise click.BadParameter("the text is empty", param_hint="--text")
    suggestion = make_suggestion(runtime, tenant, text, customer_name=customer_name)
    if as_json:
        click.echo(json.dumps(suggestion.model_dump(mode="json"), indent=2))
        return
    if suggestion.intent_model == "not_trained":
        click.echo("intent model not trained yet (`deskloop labels suggest` says where intents could come from)")
    if suggestion.abstained:
        guess = f"best guess {suggestion.intent}, " if suggestion.intent else "closest past ticket "
        why = {"unfamiliar": "the question looks new",
               "ambiguous": "either " + " or ".join(suggestion.ambiguous_between),
               "low_confidence": "not sure enough"}.get(suggestion.abstain_reason or "", "")
        click.echo(f"no suggestion: this one needs a human, {why} ({guess}{suggestion.confidence:.0%})")
        if suggestion.evidence:
            click.echo("similar: " + ", ".join(f"{e.external_id} ({e.score:.2f})" for e in suggestion.evidence))
        return
    if suggestion.intent:
        click.echo(f"intent: {suggestion.intent} ({suggestion.confidence:.0%})")
    click.echo("tags: " + ", ".join(f"{t.tag} ({t.confidence:.0%})" for t in suggestion.tags))
    if suggestion.entities:
        click.echo("entities: " + ", ".join(f"{e.type}={e.text}" for e in suggestion.entities))
    click.echo("similar: " + ", ".join(f"{e.external_id} ({e.score:.2f})" for e in suggestion.evidence))
    if suggestion.draft:
        click.echo("\n" + suggestion.draft)


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option("--tenant", required=True, help="Tenant slug whose model in service is evaluated.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@ticket_file_options
@click.pass_obj
def evaluate(runtime: Runtime, path: str, tenant: str, as_json: bool, **flags) -> None:
    """Score the tenant's model on a labelled CSV or JSONL file (same field flags as import).

    Prints n; accuracy and macro_f1 (top intent, forced choice, rows whose label the tenant knows);
    abstain_rate and accuracy_answered; unknown_n and unknown_abstain_rate (labels the tenant has
    never seen); the same two rates split by the reason given (abstain_rate_unfamiliar,
    _ambiguous, _low_confidence); p50_ms and p99_ms per suggestion. Nothing is written.
    """
    from core.suggesting.evaluation import evaluate_file

    figures = evaluate_file(runtime, tenant, path, **reading_options(flags))
    if as_json:
        click.echo(json.dumps(figures))
        return
    for key, value in figures.items():
        click.echo(f"{key:36} {value}")


@click.command()
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--target-precision", type=float, default=None,
              help="How often an answer must be right (default 0.96); below it the suggestion abstains.")
@click.option("--novelty-budget", type=float, default=None,
              help="Share of known questions the novelty check may wrongly call unfamiliar (default 0.10).")
@click.pass_obj
def abstention(runtime: Runtime, tenant: str, target_precision: float | None, novelty_budget: float | None) -> None:
    """Show or set when the tenant's suggestions say "needs a human" (read at the next training)."""
    from core.access import audit
    from core.access.audit import cli_actor
    from core.labelling.settings import set_abstention

    wanted = {k: v for k, v in {"target_precision": target_precision, "novelty_budget": novelty_budget}.items()
              if v is not None}
    current = set_abstention(runtime, tenant, wanted)
    if wanted:
        audit.record(runtime, cli_actor(), "abstention.set", tenant=tenant, detail=wanted)
    defaults = {"target_precision": DEFAULT_TARGET_PRECISION, "novelty_budget": DEFAULT_NOVELTY_BUDGET}
    for name, value in current.items():
        shown = f"{value}" if value is not None else f"{defaults[name]} (default)"
        click.echo(f"{name:16} {shown}")
    if wanted:
        click.echo(f"run `deskloop train --tenant {tenant}` to apply")
