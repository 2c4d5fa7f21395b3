"""The side-panel apps rendered for one Deskloop server, checked, and zipped ready to upload.

Each helpdesk folder next to this module is a template of the app that helpdesk installs. A build
replaces the ``{{base_...}}`` placeholders with the server's public URL, adds the shared panel
files where the Freshdesk app loads them, runs :mod:`manifests.checks` on every package and zips the
two that helpdesks take as uploads:

    <out>/zendesk/      manifest.json, translations/, assets/   -> <out>/zendesk.zip (manifest at the root)
    <out>/freshdesk/    manifest.json, app/, config/           -> <out>/freshdesk.zip
    <out>/intercom/     canvas-kit.json (settings pasted into Intercom's Developer Hub)

The helpdesks' own placeholders pass through untouched: ZAF's ``{{setting.name}}``, Freshworks'
``<%= iparam.name %>`` / ``<%= context.name %>`` and ``{{{appclient}}}``.

A build happens in a temporary folder beside ``out`` and is moved into place only once every
package passes its checks, so a failed build leaves ``out`` as it was.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import BadInput
from core.helpdesk.contract import PanelPackage, registered
from manifests.checks import LOCAL_HOST, TEXT_SUFFIXES

#: Where the templates live: this package.
SOURCE = Path(__file__).resolve().parent


def panel_packages() -> dict[str, PanelPackage]:
    """Every installed helpdesk's side-panel package (each integration declares its own: folder in
    :data:`SOURCE`, check, zip or not, shared panel files), by helpdesk name."""
    return {name: desk.panel_package for name, desk in sorted(registered().items())
            if desk.kind == "helpdesk" and desk.panel_package is not None}


#: The helpdesks built, in order (from the installed integrations).
HELPDESKS = tuple(panel_packages())
#: The helpdesks that install an uploaded zip.
ZIPPED = tuple(name for name, package in panel_packages().items() if package.zipped)
#: What ``--replace`` may find in ``out``: an earlier build and nothing else, so a mistyped
#: ``--out`` cannot wipe an unrelated folder.
BUILD_ENTRIES = frozenset(HELPDESKS) | {f"{name}.zip" for name in ZIPPED}
#: Characters allowed in the base URL: it is written verbatim into JSON, HTML and JS files.
URL_CHARACTERS = re.compile(r"^[A-Za-z0-9\-._~:/%]+$")
#: A fixed timestamp in the zips, so the same inputs give byte-identical uploads.
ZIP_TIMESTAMP = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class BaseUrl:
    """The public URL of the Deskloop server, as the helpdesks reach it."""

    url: str  # scheme://host[:port][/path], no trailing slash
    scheme: str
    host: str  # host name only (Zendesk's domainWhitelist)
    authority: str  # host[:port] (Freshworks request templates)
    path: str  # "" or "/prefix"

    def placeholders(self) -> dict[str, str]:
        return {"{{base_url}}": self.url, "{{base_host}}": self.host, "{{base_scheme}}": self.scheme,
                "{{base_authority}}": self.authority, "{{base_path}}": self.path}

    @property
    def local(self) -> bool:
        return self.host == LOCAL_HOST


@dataclass(frozen=True)
class BuiltPackage:
    helpdesk: str
    folder: Path
    archive: Path | None  # the zip to upload; None for Intercom

    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.rglob("*") if p.is_file())


def parse_base_url(raw: str) -> BaseUrl:
    """Accept an absolute ``https://`` URL with no query or fragment (plain ``http`` only for
    ``localhost``, the one host Zendesk's validator lets through without TLS)."""
    text = (raw or "").strip()
    if "@" in text:  # not echoed: it may hold a password
        raise BadInput("the base URL must not carry a user name or password", field="base_url")
    if "?" in text or "#" in text:
        raise BadInput(f"{text!r} must not have a query or fragment", field="base_url")
    if not URL_CHARACTERS.match(text):
        raise BadInput(f"{text!r} is not a plain URL (letters, digits and -._~:/% only; no quotes or spaces)",
                       field="base_url")
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError as exc:
        raise BadInput(f"{text!r}: {exc}", field="base_url") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host or not parts.netloc:
        raise BadInput(f"{text!r} must be an absolute https:// URL, e.g. https://deskloop.example.com",
                       field="base_url")
    if parts.scheme == "http" and host != LOCAL_HOST:
        hint = f" (use http://{LOCAL_HOST}{':' + str(port) if port else ''} on this machine)" \
            if host == "127.0.0.1" else ""
        raise BadInput(f"{text!r} must use https: helpdesks load apps over TLS only; plain http is accepted "
                       f"for {LOCAL_HOST} alone{hint}", field="base_url")
    authority = f"{host}:{port}" if port else host
    path = parts.path.rstrip("/")
    return BaseUrl(url=f"{parts.scheme}://{authority}{path}", scheme=parts.scheme, host=host,
                   authority=authority, path=path)


def build_packages(base_url: str, out: Path, *, replace: bool = False,
                   source: Path | None = None) -> list[BuiltPackage]:
    """Render, check and zip every helpdesk's app into ``out``. :class:`BadInput` for a bad URL,
    an ``out`` that holds something (unless ``replace``, and then only an earlier build), or a
    package that fails its checks; ``out`` is untouched in all three cases."""
    base = parse_base_url(base_url)
    source = Path(source) if source is not None else SOURCE
    out = Path(out).expanduser().absolute()
    _check_destination(out, source, replace)
    created = [p for p in reversed(out.parents) if not p.exists()]  # removed again if the build fails
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    built = False
    try:
        problems = []
        for helpdesk, package in panel_packages().items():
            folder = staging / helpdesk
            _render(source / package.folder, folder, base.placeholders())
            for origin, target in package.shared_files.items():
                _copy_shared(source / origin, folder / target)
            problems += [f"{helpdesk}/{problem}" for problem in package.checker()(folder)]
        if problems:
            raise BadInput("the built apps would be refused by the helpdesks:\n  " + "\n  ".join(problems))
        for helpdesk in ZIPPED:
            _zip(staging / helpdesk, staging / f"{helpdesk}.zip")
        _move_into_place(staging, out)
        built = True
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if not built:
            for folder in reversed(created):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
    return [BuiltPackage(h, out / h, out / f"{h}.zip" if h in ZIPPED else None) for h in HELPDESKS]


def _check_destination(out: Path, source: Path, replace: bool) -> None:
    if out.resolve().is_relative_to(source.resolve()):
        raise BadInput(f"{out} is inside the app templates; build somewhere else", field="out")
    if out.exists() and not out.is_dir():
        raise BadInput(f"{out} is a file, not a folder", field="out")
    held = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if not held:
        return
    if not replace:
        raise BadInput(f"{out} is not empty; pass --replace to overwrite an earlier build", field="out")
    foreign = [name for name in held if name not in BUILD_ENTRIES]
    if foreign:
        raise BadInput(f"{out} holds more than an earlier build ({', '.join(foreign[:5])}); "
                       "--replace only overwrites a build folder", field="out")


def _render(template: Path, folder: Path, placeholders: dict[str, str]) -> None:
    if not template.is_dir():
        raise FileNotFoundError(f"app template folder {template} is missing from the installation")
    for path in sorted(template.rglob("*")):
        relative = path.relative_to(template)
        if any(part == "__pycache__" or part.startswith(".") for part in relative.parts) or \
                path.suffix in (".py", ".pyc") or not path.is_file():
            continue
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() in TEXT_SUFFIXES:
            text = path.read_text(encoding="utf-8")
            for placeholder, value in placeholders.items():
                text = text.replace(placeholder, value)
            target.write_text(text, encoding="utf-8")
        else:
            shutil.copyfile(path, target)


def _copy_shared(origin: Path, target: Path) -> None:
    if not origin.is_file():
        raise FileNotFoundError(f"shared panel file {origin} is missing from the installation")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(origin, target)


def _zip(folder: Path, archive: Path) -> None:
    """Files at the zip's root as they are in ``folder`` (both helpdesks look for ``manifest.json``
    there: ZAS reports a nested one as ``nested_manifest``)."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            entry = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=ZIP_TIMESTAMP)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(entry, path.read_bytes())


def _move_into_place(staging: Path, out: Path) -> None:
    """Swap the finished build in with two renames on the same filesystem; an earlier build is
    removed only after the new one is in place."""
    previous = None
    if out.exists():
        previous = Path(tempfile.mkdtemp(prefix=f".{out.name}.previous-", dir=out.parent))
        previous.rmdir()
        out.rename(previous)
    try:
        staging.rename(out)
    except OSError:
        if previous is not None:
            previous.rename(out)
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
