"""``deskloop import-outcomes`` (which accounts churned or renewed) and ``deskloop insights churn``
(accounts ranked by churn risk, with their reasons and tickets)."""

from __future__ import annotations

from pathlib import Path

import click

from core.commands.insights import insights
from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(import_outcomes)
    insights.add_command(churn)


@click.command("import-outcomes")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tenant", required=True)
@click.pass_obj
def import_outcomes(runtime: Runtime, path: Path, tenant: str) -> None:
    """Import account outcomes from a CSV file (account, outcome: churned or renewed, date), all or
    nothing: a bad row names the file, line and field and nothing is written (exit code 2)."""
    from core.insights.churn.outcomes import import_outcomes as run_import

    click.echo(run_import(runtime, tenant, path).summary(tenant))


@click.command("churn")
@click.option("--tenant", required=True)
@click.option("--top", default=20, show_default=True, type=click.IntRange(1, 10_000), help="How many accounts.")
@click.option("--csv", "csv_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every ranked account to this CSV file (cells that would run as spreadsheet "
                   "formulas are escaped).")
@click.pass_obj
def churn(runtime: Runtime, tenant: str, top: int, csv_path: Path | None) -> None:
    """Accounts most at risk of churning, with their strongest reasons and the tickets behind them."""
    from core.insights.churn.ranking import rank_accounts

    ranking = rank_accounts(runtime, tenant, top=10**9 if csv_path else top)
    click.echo(f"{tenant}: {ranking.total} account(s) with tickets in the last 18 weeks; {ranking.note}")
    for place, account in enumerate(ranking.accounts[:top], start=1):
        click.echo(f"{place:>3}. {account.score:5.1f}  {account.account}  ({account.tickets} tickets)")
        for reason in account.reasons:
            ids = ", ".join(str(i) for i in reason.ticket_ids)
            click.echo(f"       {reason.description} ({reason.feature} {reason.value:g}): tickets {ids}")
    if csv_path is not None:
        from core.insights.churn.export import ranking_csv

        csv_path.write_text(ranking_csv(ranking), encoding="utf-8", newline="")
        click.echo(f"wrote {len(ranking.accounts)} account(s) to {csv_path}")
