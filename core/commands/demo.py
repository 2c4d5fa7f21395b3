"""``deskloop simulate`` and ``deskloop demo``: a believable helpdesk history, trained and served."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path

import click

from core.runtime import Runtime

DEMO_TENANT = "demo"
HELPDESK_TENANT = "helpdesk"
#: The demo's own admin account (a reserved example domain: it can receive no mail).
DEMO_ADMIN = "admin@demo.example"


def register(group: click.Group) -> None:
    group.add_command(simulate)
    group.add_command(demo)


@click.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="JSONL file to write.")
@click.option("--tickets", "count", type=click.IntRange(min=1), default=None,
              help="How many (default: one per Banking77 query).")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--weeks", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day of the history (default: today).")
@click.option("--helpdesk-shaped", is_flag=True,
              help="Write a Zendesk-shaped history with no intent (categories, tags, types, groups, macros); "
                   "the true intents go beside it (history.jsonl: history.truth.csv).")
@click.option("--accounts", type=click.IntRange(min=20), default=None,
              help="Write a history of this many accounts with planted churners instead (at least 20 weeks); "
                   "their outcomes go beside it (history.jsonl: history.outcomes.csv).")
@click.option("--strength", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="With --accounts: how much churners' tickets degrade, 0 (faint) to 1 (strong).")
@click.option("--incidents", type=click.IntRange(0, 20), default=None,
              help="Write a history of 16 categories with this many spike incidents planted in its last week "
                   "instead (0: a quiet one); the deploy markers and the incidents go beside it "
                   "(history.jsonl: history.deploys.jsonl, history.incidents.csv).")
@click.option("--busy", is_flag=True,
              help="With --incidents: plant them in the two busiest categories on weekday mornings.")
def simulate(out: Path, count: int | None, seed: int, weeks: int, end, helpdesk_shaped: bool, accounts: int | None,
             strength: float, incidents: int | None, busy: bool) -> None:
    """Write a seeded, simulated helpdesk history in Deskloop's JSONL ticket shape."""
    last_day = end.date() if end else None
    if not out.parent.is_dir():
        raise click.BadParameter(f"no folder {out.parent}", param_hint="--out")
    kinds = [name for name, given in (("--accounts", accounts is not None), ("--incidents", incidents is not None),
                                      ("--helpdesk-shaped", helpdesk_shaped)) if given]
    if len(kinds) > 1:
        raise click.UsageError(f"choose one of {' and '.join(kinds)}")
    if busy and incidents is None:
        raise click.BadParameter("only with --incidents", param_hint="--busy")
    if incidents is not None:
        from core.demo.incident_history import write_incident_history

        if weeks < 2:
            raise click.BadParameter("at least 2 weeks with --incidents (one to learn the rhythm from)",
                                     param_hint="--weeks")
        files = write_incident_history(out, seed=seed, weeks=weeks, incidents=incidents, busy=busy, end=last_day)
        click.echo(f"wrote {files.tickets} tickets to {out}, its deploy markers to {files.deploys} and the "
                   f"{incidents} planted incidents to {files.incidents}")
        return
    if accounts is not None:
        from core.demo.accounts import OUTCOME_WEEKS, simulate_accounts, write_outcomes

        if weeks < OUTCOME_WEEKS + 4:
            raise click.BadParameter(f"at least {OUTCOME_WEEKS + 4} weeks with --accounts", param_hint="--weeks")
        history = simulate_accounts(seed=seed, strength=strength, accounts=accounts, weeks=weeks, end=last_day)
        with out.open("w", encoding="utf-8") as handle:
            for ticket in history.tickets:
                handle.write(ticket.model_dump_json(exclude_none=True) + "\n")
        outcomes = out.with_suffix(".outcomes.csv")
        write_outcomes(outcomes, history.outcomes)
        click.echo(f"wrote {len(history.tickets)} tickets of {accounts} accounts to {out} and their outcomes to "
                   f"{outcomes}")
        return
    if helpdesk_shaped:
        from core.demo.helpdesk_shaped import truth_path_for, write_helpdesk_history

        written = write_helpdesk_history(out, count=count, seed=seed, weeks=weeks, end=last_day)
        click.echo(f"wrote {written} tickets to {out} and their true intents to {truth_path_for(out)}")
        return
    from core.demo.simulate import write_history

    written = write_history(out, count=count, seed=seed, weeks=weeks, end=last_day)
    click.echo(f"wrote {written} tickets to {out}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Build the demo tenant and stop.")
@click.option("--helpdesk-shaped", is_flag=True,
              help=f"Also build tenant '{HELPDESK_TENANT}': a history shaped like a real Zendesk account, "
                   "with no intent field (see README: learning from a real helpdesk's history).")
@click.option("--tickets", type=click.IntRange(200, 100_000), default=None,
              help="How many tickets of history to simulate (default: one per Banking77 query, about 10,000; "
                   "fewer build faster and learn less).")
@click.pass_obj
def demo(runtime: Runtime, host: str, port: int, no_serve: bool, helpdesk_shaped: bool, tickets: int | None) -> None:
    """Build the demo tenant (history, model, a first signal) and serve the app."""
    from core.demo.build import build_demo, build_helpdesk_demo

    build_demo(runtime, DEMO_TENANT, end=date.today(), count=tickets, report=click.echo)
    if helpdesk_shaped:
        build_helpdesk_demo(runtime, HELPDESK_TENANT, end=date.today(), count=tickets, report=click.echo)
    email, password = demo_admin(runtime)
    click.echo(f"Sign in at http://{host}:{port}/login as {email} with password {password}")
    click.echo("  (a new password each run; `deskloop user add` makes accounts of your own)")
    if no_serve:
        return
    from core.commands.web import serve_app

    serve_app(runtime, host, port)


def demo_admin(runtime: Runtime) -> tuple[str, str]:
    """The demo's admin, with a fresh random password: nothing is trusted by address, so even the
    demo on 127.0.0.1 needs a sign-in, and a password printed by an earlier run stops working."""
    from core.access import audit
    from core.access.operators import add_operator, find_operator, set_disabled, set_password
    from core.errors import NotFound

    password = secrets.token_urlsafe(18)
    try:
        find_operator(runtime, DEMO_ADMIN)
    except NotFound:
        add_operator(runtime, DEMO_ADMIN, "admin", password=password)
        audit.record(runtime, audit.cli_actor(), "user.add", target=DEMO_ADMIN, detail={"role": "admin"})
    else:
        set_password(runtime, DEMO_ADMIN, password)
        set_disabled(runtime, DEMO_ADMIN, False)
        audit.record(runtime, audit.cli_actor(), "user.reset_password", target=DEMO_ADMIN)
    return DEMO_ADMIN, password
