"""``deskloop manifests build``: the side-panel apps, ready to upload to each helpdesk."""

from __future__ import annotations

from pathlib import Path

import click


def register(group: click.Group) -> None:
    group.add_command(manifests)


@click.group()
def manifests() -> None:
    """The side-panel apps an admin installs in Zendesk, Freshdesk and Intercom."""


@manifests.command("build")
@click.option("--base-url", required=True,
              help="The public https:// URL of this Deskloop server, as the helpdesks reach it.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="An empty (or new) folder for the apps and their zips.")
@click.option("--replace", is_flag=True, help="Overwrite an earlier build in --out.")
def build(base_url: str, out: Path, replace: bool) -> None:
    """Render, check and zip the apps for the server at --base-url."""
    from manifests.build import build_packages, parse_base_url

    built = build_packages(base_url, out, replace=replace)
    base = parse_base_url(base_url)
    root = built[0].folder.parent
    click.echo(f"Apps for {base.url}, written to {root}:")
    for package in built:
        files = package.files()
        total = sum(f.stat().st_size for f in files)
        click.echo(f"  {package.helpdesk}/  {len(files)} files, {_size(total)}")
        for path in files:
            click.echo(f"    {path.relative_to(root).as_posix():<44} {_size(path.stat().st_size):>9}")
        if package.archive is not None:
            archive = package.archive
            size = _size(archive.stat().st_size)
            click.echo(f"  {archive.relative_to(root).as_posix():<46} {size:>9}  <- upload this")
    if base.local:
        click.echo("Note: a localhost URL is for trying the apps on this machine (Freshdesk: `fdk run`); "
                   "Freshworks refuses plain http request templates at upload.")


def _size(count: int) -> str:
    return f"{count} B" if count < 1024 else f"{count / 1024:.1f} KB"
