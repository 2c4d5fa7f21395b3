"""``deskloop autonomy``: which intents Deskloop may answer on its own, the sensitive lists, the kill
switch, and the backtest on the tenant's own history. The rules live in :mod:`core.autonomy`."""

from __future__ import annotations

import json

import click

from core.access.audit import cli_actor
from core.errors import BadInput
from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(autonomy)


@click.group()
def autonomy() -> None:
    """Autonomous resolution: modes per intent (off, shadow, autonomous), sensitive intents and
    accounts (never autonomous), the kill switch, and a backtest before go-live."""


@autonomy.command("mode")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--intent", required=True, help="The intent, as the tenant's tickets name it.")
@click.option("--threshold", type=float, default=None,
              help="The confidence an autonomous reply needs (the backtest's pick; default: the tenant's).")
@click.argument("mode")
@click.pass_obj
def mode_command(runtime: Runtime, tenant: str, intent: str, mode: str, threshold: float | None) -> None:
    """Set INTENT's MODE: off (suggest only, the default), shadow (record what would have been
    sent, send nothing) or autonomous (reply on its own). A sensitive intent is refused."""
    from core.autonomy.settings import parse_mode, set_mode

    chosen = set_mode(runtime, tenant, intent, parse_mode(mode), cli_actor(), threshold=threshold)
    click.echo(f"{tenant}: intent {intent.strip()!r} is now {chosen.value}"
               + (f" (threshold {threshold:g})" if threshold is not None else ""))


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """``KEY=VALUE`` options as a dict; a value without ``=`` is bad input naming the option."""
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"{option} takes KEY=VALUE, got {value!r}", field=option)
        pairs[key.strip()] = rest
    return pairs


@autonomy.command("configure")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--languages", default=None, help="Languages Deskloop may answer in, comma-separated (en,de).")
@click.option("--status-after-reply", type=click.Choice(["pending", "solved_on_confirm", "solved_after_days"]),
              default=None, help="What a reply does to the ticket's status.")
@click.option("--solve-after-days", type=int, default=None, help="With solved_after_days: days without an answer.")
@click.option("--reply-window-hours", type=int, default=None, help="At most one autonomous reply per ticket within it.")
@click.option("--rate-per-hour", type=int, default=None, help="At most this many autonomous replies an hour.")
@click.option("--default-threshold", type=float, default=None, help="The confidence an intent without its own needs.")
@click.option("--group", "groups", multiple=True, help="INTENT=GROUP: where that intent's handoffs go (repeatable).")
@click.option("--default-group", default=None, help="Where other handoffs go.")
@click.option("--holding-template", "templates", multiple=True,
              help="LANG=TEXT: the holding message of a handoff in that language (repeatable).")
@click.pass_obj
def configure_command(runtime: Runtime, tenant: str, languages: str | None, status_after_reply: str | None,
                      solve_after_days: int | None, reply_window_hours: int | None, rate_per_hour: int | None,
                      default_threshold: float | None, groups: tuple[str, ...], default_group: str | None,
                      templates: tuple[str, ...]) -> None:
    """How autonomous replies are handled: languages, the status a reply leaves, the reply window,
    the rate cap, where handoffs go and the holding messages. Only the options given change."""
    from core.autonomy.policy import load_policy
    from core.autonomy.settings import configure

    changes: dict = {key: value for key, value in {
        "status_after_reply": status_after_reply, "solve_after_days": solve_after_days,
        "reply_window_hours": reply_window_hours, "rate_per_hour": rate_per_hour,
        "default_threshold": default_threshold, "default_group": default_group}.items() if value is not None}
    if languages is not None:
        changes["languages"] = [code for code in languages.split(",") if code.strip()]
    current = load_policy(runtime, tenant).config
    if groups:
        changes["groups"] = {**current.groups, **_pairs(groups, "--group")}
    if templates:
        changes["holding_templates"] = {**current.holding_templates, **_pairs(templates, "--holding-template")}
    config = configure(runtime, tenant, changes, cli_actor())
    click.echo(json.dumps(config.model_dump(mode="json"), indent=2))


@autonomy.command("sensitive")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--intent", default=None, help="An intent never answered autonomously (fraud, legal, cancellations).")
@click.option("--account", default=None, help="An account never answered autonomously (an organization, "
                                              "or a requester's email where there is none).")
@click.option("--remove", is_flag=True, help="Take it off the list instead.")
@click.pass_obj
def sensitive_command(runtime: Runtime, tenant: str, intent: str | None, account: str | None, remove: bool) -> None:
    """Add an intent or an account to the tenant's sensitive list (or --remove it)."""
    from core.autonomy.settings import SensitiveKind, set_sensitive

    if (intent is None) == (account is None):
        raise BadInput("name exactly one of --intent or --account")
    kind: SensitiveKind = "intent" if intent is not None else "account"
    value = intent if intent is not None else account
    changed = set_sensitive(runtime, tenant, kind, value or "", cli_actor(), remove=remove)
    what = f"{kind} {value!r}" if kind == "intent" else "the account"
    if remove:
        click.echo(f"{tenant}: {what} is no longer sensitive")
    else:
        click.echo(f"{tenant}: {what} is sensitive: never autonomous" + ("" if changed else " (already was)"))


@autonomy.command("pause")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.pass_obj
def pause_command(runtime: Runtime, tenant: str) -> None:
    """The kill switch: no autonomous reply from now on, in every process within seconds."""
    from core.autonomy.policy import STAMP_CHECK_SECONDS
    from core.autonomy.settings import set_paused

    state = set_paused(runtime, tenant, True, cli_actor())
    click.echo(f"{tenant}: autonomy paused (by {state and state['by']} at {state and state['at']}); every process "
               f"stops autonomous replies within {STAMP_CHECK_SECONDS:g} s")


@autonomy.command("resume")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.pass_obj
def resume_command(runtime: Runtime, tenant: str) -> None:
    """Lift the kill switch: the intents' modes apply again."""
    from core.autonomy.settings import set_paused

    set_paused(runtime, tenant, False, cli_actor())
    click.echo(f"{tenant}: autonomy resumed; the intents' modes apply again")


@autonomy.command("target-precision")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.argument("target", type=float)
@click.pass_obj
def target_command(runtime: Runtime, tenant: str, target: float) -> None:
    """The precision an intent's threshold must reach in the backtest (default 0.98)."""
    from core.autonomy.settings import set_target_precision

    set_target_precision(runtime, tenant, target, cli_actor())
    click.echo(f"{tenant}: target precision {target:g}")


@autonomy.command("status")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def status_command(runtime: Runtime, tenant: str, as_json: bool) -> None:
    """The modes a person chose and what applies after the rules, the sensitive lists, and whether
    autonomy is paused."""
    from core.autonomy.settings import status

    found = status(runtime, tenant)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    paused = found["paused"]
    state = f"PAUSED by {paused.get('by')} at {paused.get('at')}" if paused else "not paused"
    click.echo(f"tenant {tenant}: {state}; target precision {found['target_precision']:g}")
    if not found["intents"]:
        click.echo("every intent is off (the default)")
    for row in found["intents"]:
        applied = "" if row["effective"] == row["mode"] else f" -> {row['effective']} ({row['reason']})"
        click.echo(f"  {row['intent']}: {row['mode']}{applied}" + (" [sensitive]" if row["sensitive"] else ""))
    click.echo(f"sensitive intents: {', '.join(found['sensitive_intents']) or 'none'}")
    click.echo(f"sensitive accounts: {', '.join(found['sensitive_accounts']) or 'none'}")


@autonomy.command("backtest")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--since", default=None, help="Only tickets created at or after this time (ISO 8601).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def backtest_command(runtime: Runtime, tenant: str, since: str | None, as_json: bool) -> None:
    """Replay the tenant's resolved tickets in time order through the learning loop (in a scratch
    database: the tenant's data is not changed) and report per intent what Deskloop would have
    sent, how it compares with the agents' replies and outcomes, and at the threshold picked for
    the target precision the estimated auto-resolution rate and share of wrong replies. The report
    is kept: the autonomy page and GET .../autonomy/backtest show the latest."""
    from core.autonomy.backtest import backtest
    from core.autonomy.backtest_runs import keep_backtest
    from core.ingest.dates import parse_timestamp

    try:
        start = parse_timestamp(since) if since else None
    except ValueError as exc:
        raise BadInput(str(exc), field="since") from None
    runtime.db.tenant_id(tenant)  # an unknown tenant is named before anything is read
    found = backtest(runtime, tenant, start)
    keep_backtest(runtime, tenant, found, cli_actor(), since=start)
    if as_json:
        click.echo(json.dumps(found, indent=2, default=str))
        return
    click.echo(f"backtest of {tenant}: {found['tickets']} resolved tickets"
               + (f" since {found['since']}" if found["since"] else "")
               + f"; target precision {found['target_precision']:g} (Wilson lower bound), a draft is right when it "
                 f"is the ticket's intent, at least {found['close_enough']:g} similar to the agent's reply, and the "
                 "ticket was neither reopened nor rated badly")
    click.echo(f"{'intent':<32} {'tickets':>7} {'drafts':>6} {'sim':>5} {'reop':>4} {'badcs':>5} {'thresh':>6} "
               f"{'sent':>5} {'auto':>6} {'wrong':>6} {'at ' + _num(found.get('default_threshold')):>7}")
    for row in found["intents"]:
        click.echo(f"{row['intent'][:32]:<32} {row['tickets']:>7} {row['drafts']:>6} {_num(row['mean_similarity']):>5} "
                   f"{row['reopened']:>4} {row['bad_csat']:>5} {_num(row['threshold']):>6} {row['sent']:>5} "
                   f"{_pct(row['auto_resolution_rate']):>6} {_pct(row['wrong_reply_share']):>6} "
                   f"{_pct(row.get('rate_at_default_threshold')):>7}")
    click.echo(f"overall: estimated auto-resolution {_pct(found['auto_resolution_rate'])}, "
               f"wrong replies {_pct(found['wrong_reply_share'])} of {found['sent']} sent; the last column is the "
               f"estimate at the default threshold {_num(found.get('default_threshold'))}")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


@autonomy.command("shadow")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def shadow_command(runtime: Runtime, tenant: str, as_json: bool) -> None:
    """Shadow mode's evidence per intent: replies Deskloop would have sent, compared with the
    agents', right, the precision and its Wilson lower bound, and which intents are recommended
    for autonomy (enough compared replies and the bound at the target precision)."""
    from core.autonomy.shadow_report import shadow_report

    found = shadow_report(runtime, tenant)
    if as_json:
        click.echo(found.model_dump_json(indent=2))
        return
    click.echo(f"shadow mode of {tenant}: target precision {found.target_precision:g} (Wilson lower bound), at least "
               f"{found.min_compared} compared replies before an intent is recommended")
    if not found.intents:
        click.echo("no shadow replies yet (set an intent to shadow: deskloop autonomy mode)")
        return
    click.echo(f"{'intent':<32} {'mode':<10} {'tickets':>7} {'replies':>7} {'compared':>8} {'right':>5} "
               f"{'prec':>6} {'lower':>6}  recommend")
    for row in found.intents:
        click.echo(f"{row.intent[:32]:<32} {row.mode:<10} {row.shadow_tickets:>7} {row.shadow_replies:>7} "
                   f"{row.compared:>8} {row.right:>5} {_pct(row.precision):>6} {_pct(row.precision_lower_bound):>6}  "
                   + ("yes" if row.recommend_autonomous else "no"))
