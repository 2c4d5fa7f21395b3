"""``deskloop insights run`` (scan for spikes now, or keep scanning), ``deskloop insights areas``
(the tenant's product areas), ``deskloop insights feature-requests`` (requested capabilities),
``deskloop insights knowledge-gaps`` (where answers are missing, with proposed articles),
``deskloop insights digest`` (the weekly digest), ``deskloop insights plans`` (which custom field
carries an account's plan) and ``deskloop deploy mark`` (a deploy marker)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from core.errors import BadInput
from core.insights.incidents import DeployMarker
from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(insights)
    group.add_command(deploy)


@click.group()
def insights() -> None:
    """Volumes per category, spikes against each tenant's rhythm, incidents."""


@insights.command("run")
@click.option("--tenant", default=None, help="One tenant (default: every tenant).")
@click.option("--every", default=0, type=click.IntRange(0, 3600),
              help="Keep scanning, this many seconds apart (0: scan once and stop).")
@click.option("--replay-from", "replay_from", default=None,
              help="Scan one tenant as if every STEP minutes had passed from this moment (ISO 8601 with a time "
                   "zone) until now: an imported history's incidents are found as they would have been live.")
@click.option("--step", default=5, show_default=True, type=click.IntRange(1, 60), help="With --replay-from: minutes.")
@click.pass_obj
def run(runtime: Runtime, tenant: str | None, every: int, replay_from: str | None, step: int) -> None:
    """Count new tickets and open, grow or end incidents; publishes each change once."""
    from core.insights.run import scan_all, scan_tenant

    if replay_from is not None:
        if tenant is None or every:
            raise click.UsageError("--replay-from scans one --tenant, once")
        _replay(runtime, tenant, _moment(replay_from), step)
        return
    while True:
        results = [scan_tenant(runtime, tenant)] if tenant else scan_all(runtime)
        for result in results:
            click.echo(f"{result.tenant}: {result.counted} new ticket(s) counted, {result.assessed} categories "
                       f"tested, {len(result.changes)} change(s)" + "".join(f"\n  {k}" for k in result.changes))
        if not every:
            return
        time.sleep(every)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("an ISO 8601 time, e.g. 2026-03-02T00:00:00Z", param_hint="--replay-from") from None
    if moment.tzinfo is None:
        raise click.BadParameter("the time needs a time zone (e.g. Z)", param_hint="--replay-from")
    if not timedelta(0) < datetime.now(UTC) - moment <= timedelta(days=62):
        raise click.BadParameter("must be in the last 62 days", param_hint="--replay-from")
    return moment


def _replay(runtime: Runtime, tenant: str, since: datetime, step: int) -> None:
    """Every scan a live tenant would have had since ``since``, and the incidents they opened."""
    from core.insights.run import scan_tenant

    moment, end, opened = since, datetime.now(UTC), 0
    while moment <= end:
        for key in scan_tenant(runtime, tenant, now=moment, replaying=True).changes:
            if ":opened:" in key:
                opened += 1
                click.echo(f"{moment:%Y-%m-%d %H:%M} UTC  {key.split(':', 1)[0]} opened")
        moment += timedelta(minutes=step)
    click.echo(f"{tenant}: replayed {since:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC every {step} min, "
               f"{opened} incident(s) opened (listed by `GET /api/v1/tenants/{tenant}/incidents`)")


@insights.command("areas")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", required=True)
@click.pass_obj
def areas(runtime: Runtime, mapping: Path, tenant: str) -> None:
    """Set the tenant's product areas from a JSON file: {"Billing": {"owner": "ana@example.com",
    "intents": [...], "tags": [...]}}. Names no ticket has are refused."""
    from core.insights.areas import set_areas

    try:
        raw = json.loads(mapping.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInput(f"not JSON: {exc.msg}", file=str(mapping), line=exc.lineno) from None
    stored = set_areas(runtime, tenant, raw)
    click.echo(f"{tenant}: {len(stored)} product area(s) set")


@insights.command("feature-requests")
@click.option("--tenant", required=True)
@click.option("--days", default=180, show_default=True, type=int, help="Tickets created this many days back (28-3650).")
@click.option("--csv", "csv_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Also write one row per capability to this CSV file.")
@click.option("--to-linear", is_flag=True,
              help="Open or update one Linear issue per capability (the tenant's linear notifier, with "
                   "--set feature_requests=on).")
@click.pass_obj
def feature_requests(runtime: Runtime, tenant: str, days: int, csv_path: Path | None, to_linear: bool) -> None:
    """Feature requests among the tenant's tickets, grouped into requested capabilities: requests,
    accounts (weighted by plan), the last four weeks against the four before, examples."""
    from core.insights.feature_requests import feature_request_report, publish_capabilities, report_csv
    from core.notify.capability_sync import opted_in

    if csv_path is not None and not csv_path.parent.is_dir():
        raise BadInput(f"no folder {csv_path.parent} to write the CSV in", field="--csv")
    runtime.db.tenant_id(tenant)  # an unknown tenant is said as such, before anything else
    if to_linear and not opted_in(runtime, tenant):
        raise BadInput(f"{tenant} has not opted in: `deskloop notifier add linear --tenant {tenant} --replace ... "
                       "--set feature_requests=on` first", field="--to-linear")
    report = feature_request_report(runtime, tenant, days=days)
    found = len(report.capabilities)
    click.echo(f"{tenant}: {report.feature_requests} feature request(s) among {report.tickets_read} ticket(s) since "
               f"{report.since:%Y-%m-%d}, {found} capabilit{'y' if found == 1 else 'ies'}"
               f" (model {report.model_version}, {report.tenant_examples} tagged ticket(s) learned from)")
    for c in report.capabilities:
        areas = ", ".join(f"{a} {n}" for a, n in c.areas.items()) or "no area"
        click.echo(f"  {c.label}: {c.requests} request(s), {c.accounts} account(s) (weighted {c.weighted_accounts:g}), "
                   f"{c.last_4_weeks} in the last 4 weeks vs {c.previous_4_weeks} ({c.trend}); {areas}; "
                   f"e.g. tickets {', '.join(map(str, c.example_ticket_ids))}")
    if csv_path is not None:
        csv_path.write_text(report_csv(report), encoding="utf-8", newline="")
        click.echo(f"written to {csv_path}")
    if to_linear:
        told = publish_capabilities(runtime, report)
        click.echo(f"{told} capabilit{'y' if told == 1 else 'ies'} sent to Linear (new ones open an issue, grown ones "
                   "comment on theirs)")


@insights.command("knowledge-gaps")
@click.option("--tenant", required=True)
@click.option("--days", default=90, show_default=True, type=int, help="Tickets created this many days back (7-3650).")
@click.option("--top", default=20, show_default=True, type=int, help="How many gaps, the highest score first (1-200).")
@click.option("--min-score", default=5.0, show_default=True, type=float,
              help="Leave out groups scoring under this (0-100).")
@click.option("--csv", "csv_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Also write one row per gap to this CSV file.")
@click.option("--export", "export_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Write one Markdown article (YAML front matter, status: draft) per gap into this new or empty "
                   "folder.")
@click.pass_obj
def knowledge_gaps(runtime: Runtime, tenant: str, days: int, top: int, min_score: float, csv_path: Path | None,
                   export_dir: Path | None) -> None:
    """Intents and clusters where Deskloop abstains, drafts are rewritten, tickets reopen or are rated
    badly, or agents write long unique replies: ranked, each with a proposed article drafted from the
    best-rated replies (no customer's details)."""
    from core.insights.gap_export import check_target, write_articles
    from core.insights.knowledge_gaps import check_arguments, knowledge_gap_report, report_csv

    check_arguments(days, top, min_score)
    if csv_path is not None and not csv_path.parent.is_dir():
        raise BadInput(f"no folder {csv_path.parent} to write the CSV in", field="--csv")
    if export_dir is not None:
        check_target(export_dir)
    runtime.db.tenant_id(tenant)  # an unknown tenant is said as such, before anything else
    report = knowledge_gap_report(runtime, tenant, days=days, top=top, min_score=min_score)
    click.echo(f"{tenant}: {len(report.gaps)} knowledge gap(s) among {report.groups_measured} group(s) of "
               f"{report.tickets_read} ticket(s) since {report.since:%Y-%m-%d}")
    for rank, gap in enumerate(report.gaps, 1):
        click.echo(f"  {rank}. {gap.label} ({gap.key}): score {gap.score:g}, {gap.tickets} ticket(s); "
                   + "; ".join(r.detail for r in gap.reasons))
    if csv_path is not None:
        csv_path.write_text(report_csv(report), encoding="utf-8", newline="")
        click.echo(f"written to {csv_path}")
    if export_dir is not None:
        written = write_articles(report, export_dir)
        click.echo(f"{len(written)} draft article(s) written to {export_dir}")


@insights.command("digest")
@click.option("--tenant", required=True)
@click.option("--week", default=None, help="An ISO week such as 2026-W49 (default: last week).")
@click.option("--send", is_flag=True, help="Also tell the digest's listeners (Slack, with --set digest=on).")
@click.option("--json", "as_json", is_flag=True, help="Print the digest as JSON (what the API answers).")
@click.pass_obj
def digest(runtime: Runtime, tenant: str, week: str | None, send: bool, as_json: bool) -> None:
    """The tenant's weekly digest: churn risks, rising feature requests, knowledge gaps, the week's
    spikes and what the learning loop did."""
    from core.insights.digest import weekly_digest
    from core.insights.digest_text import digest_lines
    from core.insights.weeks import last_complete_week, parse_week
    from core.notify.weekly_digest import tell

    chosen = parse_week(week) if week is not None else last_complete_week(datetime.now(UTC))
    runtime.db.tenant_id(tenant)  # an unknown tenant is said as such, before anything else
    found = weekly_digest(runtime, tenant, chosen)
    if as_json:
        click.echo(found.model_dump_json(indent=2))
    else:
        for line in digest_lines(found):
            click.echo(line)
    if send:
        click.echo("sent to the digest's listeners" if tell(runtime, found)
                   else "the queue could not be reached: not sent", err=not as_json)


@insights.command("plans")
@click.option("--tenant", required=True)
@click.option("--field", required=True, help="The ticket custom field that carries the account's plan.")
@click.option("--weight", "weights", multiple=True, required=True, metavar="PLAN=WEIGHT",
              help="What one account on PLAN counts for (repeat; an unknown plan counts 1).")
@click.pass_obj
def plans(runtime: Runtime, tenant: str, field: str, weights: tuple[str, ...]) -> None:
    """Weigh the accounts asking for a capability by their plan."""
    from core.insights.feature_requests import set_plans

    parsed: dict[str, object] = {}
    for item in weights:
        plan, sep, number = item.partition("=")
        try:
            parsed[plan] = float(number)
        except ValueError:
            raise BadInput(f"{item!r} is not PLAN=WEIGHT with a number", field="--weight") from None
        if not sep:
            raise BadInput(f"{item!r} is not PLAN=WEIGHT", field="--weight")
    stored = set_plans(runtime, tenant, {"field": field, "weights": parsed})
    click.echo(f"{tenant}: plans read from custom field {stored['field']!r}: "
               + ", ".join(f"{p}={w:g}" for p, w in stored["weights"].items()))


@click.group()
def deploy() -> None:
    """Deploy markers: an incident names the deploy that preceded it."""


@deploy.command("mark")
@click.option("--tenant", required=True)
@click.option("--service", default=None)
@click.option("--version", "version_", default=None)
@click.option("--at", "at", default=None, help="When (ISO 8601 with a time zone; default: now).")
@click.option("--link", default=None, help="The release or pipeline page.")
@click.option("--from", "from_file", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Mark every deploy of a JSONL file instead ({service, version, deployed_at, link} a line): "
                   "all are checked before any is written.")
@click.pass_obj
def mark(runtime: Runtime, tenant: str, service: str | None, version_: str | None, at: str | None, link: str | None,
         from_file: Path | None) -> None:
    """Record that SERVICE at VERSION was deployed (or every deploy of a file)."""
    from core.insights.deploys import checked, mark_all

    if from_file is not None:
        if service or version_ or at or link:
            raise click.UsageError("--from replaces --service, --version, --at and --link")
        markers = [_checked_line(from_file, number, raw) for number, raw in _deploy_lines(from_file)]
        mark_all(runtime, tenant, markers)
        click.echo(f"{tenant}: {len(markers)} deploys marked from {from_file}")
        return
    if not service or not version_:
        raise click.UsageError("give --service and --version (or --from FILE)")
    when: object = datetime.now(UTC).isoformat() if at is None else at
    [marker] = mark_all(runtime, tenant, [checked({"service": service, "version": version_, "deployed_at": when,
                                                   "link": link})])
    click.echo(f"{tenant}: deploy of {marker.service} {marker.version} at {marker.deployed_at.isoformat()} marked")


def _checked_line(path: Path, number: int, raw: dict) -> DeployMarker:
    from core.insights.deploys import checked

    try:
        return checked(raw)
    except BadInput as exc:
        raise BadInput(exc.reason, file=str(path), line=number, field=exc.field) from None


def _deploy_lines(path: Path) -> list[tuple[int, dict]]:
    """The file's markers as objects with their line numbers, or :class:`BadInput` naming the line."""
    found = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput("not UTF-8 text", file=str(path)) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"not JSON: {exc.msg}", file=str(path), line=number) from None
        if not isinstance(raw, dict):
            raise BadInput("expected an object", file=str(path), line=number)
        found.append((number, raw))
    return found
