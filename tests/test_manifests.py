"""``deskloop manifests build``: upload-ready side-panel apps, and the checks that would refuse a bad one."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.cli import main
from core.errors import BadInput
from manifests import build as build_module
from manifests.build import HELPDESKS, SOURCE, build_packages, parse_base_url
from manifests.checks import CHECKS

BASE = "https://deskloop.example.com"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """One build, shared read-only; tests that break a package work on a copy."""
    out = tmp_path_factory.mktemp("apps") / "out"
    build_packages(BASE + "/", out)
    return out


@pytest.fixture
def package(built, tmp_path) -> Callable[[str], Path]:
    def copy(helpdesk: str) -> Path:
        return Path(shutil.copytree(built / helpdesk, tmp_path / helpdesk))
    return copy


def _read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _edit(path: Path, change: Callable[[dict], object]) -> None:
    data = _read(path)
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _text_files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
            for p in folder.rglob("*") if p.suffix in {".json", ".html", ".js", ".css", ".svg"}}


# --- a good build --------------------------------------------------------------------------------


def test_every_package_is_built_and_passes_its_checks(built):
    assert sorted(p.name for p in built.iterdir()) == ["freshdesk", "freshdesk.zip", "intercom", "zendesk",
                                                        "zendesk.zip"]
    for helpdesk in HELPDESKS:
        assert CHECKS[helpdesk](built / helpdesk) == [], helpdesk


def test_zendesk_zip_has_the_manifest_translations_and_logos_at_its_root(built):
    with zipfile.ZipFile(built / "zendesk.zip") as bundle:
        names = set(bundle.namelist())
        assert {"manifest.json", "translations/en.json", "assets/logo.png", "assets/logo-small.png",
                "assets/logo.svg"} <= names
        manifest = json.loads(bundle.read("manifest.json"))
        small = bundle.read("assets/logo-small.png")
    sidebar = manifest["location"]["support"]["ticket_sidebar"]
    assert sidebar == {"url": f"{BASE}/apps/zendesk/sidebar", "flexible": True}
    assert manifest["domainWhitelist"] == ["deskloop.example.com"]
    assert manifest["author"]["url"] == BASE
    assert manifest["signedUrls"] is True and manifest["frameworkVersion"] == "2.0"
    assert manifest["parameters"] == [{"name": "deskloop_app_token", "type": "text", "required": True,
                                       "secure": True, "scopes": ["header"]}]
    assert small[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(small[16:20], "big") == 128


def test_freshdesk_zip_is_an_app_folder_with_the_shared_panel_inside(built):
    with zipfile.ZipFile(built / "freshdesk.zip") as bundle:
        names = set(bundle.namelist())
        requests = json.loads(bundle.read("config/requests.json"))
        page = bundle.read("app/index.html").decode()
        panel_js = bundle.read("app/scripts/panel.js")
        panel_css = bundle.read("app/styles/panel.css")
    assert {"manifest.json", "config/requests.json", "config/iparams.json", "app/index.html",
            "app/scripts/app.js", "app/styles/images/icon.svg"} <= names
    assert panel_js == (SOURCE / "panel" / "panel.js").read_bytes()
    assert panel_css == (SOURCE / "panel" / "panel.css").read_bytes()
    assert "{{{appclient}}}" in page
    assert set(requests) == {"deskloopSuggestion", "deskloopSent", "deskloopWrong"}
    suggestion = requests["deskloopSuggestion"]["schema"]
    assert (suggestion["protocol"], suggestion["method"]) == ("https", "POST")
    assert suggestion["host"] == "deskloop.example.com"
    assert suggestion["path"] == "/apps/api/tickets/<%= context.ticket_id %>/suggestion"
    assert suggestion["headers"]["Authorization"] == "Bearer <%= iparam.deskloop_app_token %>"
    assert requests["deskloopSent"]["schema"]["path"] == "/apps/api/suggestions/<%= context.suggestion_id %>/sent"
    assert requests["deskloopWrong"]["schema"]["path"] == "/apps/api/suggestions/<%= context.suggestion_id %>/wrong"


def test_the_base_url_is_substituted_everywhere(built):
    for helpdesk in HELPDESKS:
        for name, text in _text_files(built / helpdesk).items():
            assert "{{base_" not in text, f"{helpdesk}/{name}"
    for archive in ("zendesk.zip", "freshdesk.zip"):
        with zipfile.ZipFile(built / archive) as bundle:
            for name in bundle.namelist():
                assert b"{{base_" not in bundle.read(name), f"{archive}:{name}"
    inbox = _read(built / "intercom" / "canvas-kit.json")["inbox"]
    assert inbox["initialize_url"] == f"{BASE}/apps/intercom/initialize"
    assert inbox["submit_url"] == f"{BASE}/apps/intercom/submit"


def test_helpdesk_placeholders_pass_through_untouched(tmp_path):
    source = Path(shutil.copytree(SOURCE, tmp_path / "source", ignore=shutil.ignore_patterns("__pycache__")))
    kept = "{{setting.deskloop_app_token}} <%= iparam.deskloop_app_token %> {{{appclient}}}"
    (source / "zendesk" / "assets" / "note.html").write_text("{{base_url}} " + kept)
    (source / "zendesk" / "helper.py").write_text("raise SystemExit")
    build_packages(BASE, tmp_path / "out", source=source)
    rendered = (tmp_path / "out" / "zendesk" / "assets" / "note.html").read_text()
    assert rendered == f"{BASE} " + kept
    assert not (tmp_path / "out" / "zendesk" / "helper.py").exists()


def test_a_path_prefix_and_localhost_reach_every_helpdesk(tmp_path):
    build_packages("http://localhost:5000/desk/", tmp_path / "out")
    schema = _read(tmp_path / "out" / "freshdesk" / "config" / "requests.json")["deskloopSent"]["schema"]
    assert (schema["protocol"], schema["host"]) == ("http", "localhost:5000")
    assert schema["path"] == "/desk/apps/api/suggestions/<%= context.suggestion_id %>/sent"
    manifest = _read(tmp_path / "out" / "zendesk" / "manifest.json")
    assert manifest["location"]["support"]["ticket_sidebar"]["url"] == "http://localhost:5000/desk/apps/zendesk/sidebar"
    assert manifest["domainWhitelist"] == ["localhost"]


@pytest.mark.parametrize("raw, reason", [
    ("http://example.com", "must use https"),
    ("http://127.0.0.1:5000", "http://localhost:5000"),
    ("ftp://example.com", "absolute https://"),
    ("example.com/apps", "absolute https://"),
    ("https://example.com/?tenant=acme", "must not have a query or fragment"),
    ("https://example.com/#top", "must not have a query or fragment"),
    ("https://user:secret@example.com", "user name or password"),
    ('https://example.com/"onload', "not a plain URL"),
    ("https://example.com:99999", "example.com:99999"),
    ("", "not a plain URL"),
])
def test_bad_base_urls_are_refused(raw, reason, tmp_path):
    with pytest.raises(BadInput) as refused:
        build_packages(raw, tmp_path / "out")
    assert reason in str(refused.value)
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []


def test_base_url_is_normalised():
    base = parse_base_url(" https://Deskloop.Example.com/support/ ")
    assert (base.url, base.host, base.authority, base.path) == (
        "https://deskloop.example.com/support", "deskloop.example.com", "deskloop.example.com", "/support")


def test_a_port_on_a_public_host_is_refused_because_freshworks_takes_a_domain_name(tmp_path):
    with pytest.raises(BadInput, match="has a port"):
        build_packages("https://deskloop.example.com:8443", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


# --- the checks catch what a helpdesk would refuse -----------------------------------------------


def _param(data: dict) -> dict:
    return data["parameters"][0]


def _sidebar(data: dict) -> dict:
    return data["location"]["support"]["ticket_sidebar"]


def _schema(data: dict, name: str = "deskloopSuggestion") -> dict:
    return data[name]["schema"]


ZENDESK_BREAKAGES = {
    "missing translation file": (lambda d: (d / "translations" / "en.json").unlink(),
                                 "translations/en.json: missing"),
    "translation not JSON": (lambda d: (d / "translations" / "en.json").write_text("{app:"),
                             "translations/en.json: not valid JSON"),
    "translation without app name": (lambda d: _edit(d / "translations" / "en.json", lambda t: t["app"].pop("name")),
                                     "translations/en.json: app.name missing"),
    "parameter label missing": (lambda d: _edit(d / "translations" / "en.json",
                                                lambda t: t["app"].pop("parameters")),
                                "app.parameters.deskloop_app_token.label missing"),
    "http location": (lambda d: _edit(d / "manifest.json", lambda m: _sidebar(m).update(
        url="http://deskloop.example.com/apps/zendesk/sidebar")), "must be an absolute https:// URL"),
    "relative location not in assets": (lambda d: _edit(d / "manifest.json", lambda m: _sidebar(m).update(
        url="assets/iframe.html")), "file under assets/"),
    "location missing": (lambda d: _edit(d / "manifest.json", lambda m: m.pop("location")),
                         "'location' is required"),
    "unknown location": (lambda d: _edit(d / "manifest.json", lambda m: m["location"]["support"].update(
        side_panel={"url": BASE})), "location.support.side_panel: unknown Support location"),
    "secure parameter without scopes": (lambda d: _edit(d / "manifest.json", lambda m: _param(m).pop("scopes")),
                                        "secure parameter without scopes"),
    "token parameter not secure": (lambda d: _edit(d / "manifest.json", lambda m: _param(m).update(secure=False)),
                                   "looks like a secret (token/key/password) but is not secure"),
    "scopes on a plain parameter": (lambda d: _edit(d / "manifest.json", lambda m: _param(m).update(secure=False)),
                                    "'scopes' is only valid on a secure parameter"),
    "unknown scope": (lambda d: _edit(d / "manifest.json", lambda m: _param(m).update(scopes=["everywhere"])),
                      "unknown scopes everywhere"),
    "parameter called name": (lambda d: _edit(d / "manifest.json", lambda m: _param(m).update(name="name")),
                              "'name' cannot be a parameter's name"),
    "duplicate parameter": (lambda d: _edit(d / "manifest.json", lambda m: m["parameters"].append(_param(m))),
                            "duplicate names deskloop_app_token"),
    "unknown parameter type": (lambda d: _edit(d / "manifest.json", lambda m: _param(m).update(type="select")),
                               "type 'select' is not one of"),
    "required not boolean": (lambda d: _edit(d / "manifest.json", lambda m: _param(m).update(required="yes")),
                             "'required' must be true or false"),
    "hidden and required": (lambda d: _edit(d / "manifest.json", lambda m: m["parameters"].append(
        {"name": "region", "type": "hidden", "required": True})), "a hidden parameter cannot be required"),
    "old framework": (lambda d: _edit(d / "manifest.json", lambda m: m.update(frameworkVersion="1.0")),
                      "frameworkVersion '1.0' is not served"),
    "author without email": (lambda d: _edit(d / "manifest.json", lambda m: m["author"].pop("email")),
                             "author.email is required"),
    "no default locale": (lambda d: _edit(d / "manifest.json", lambda m: m.pop("defaultLocale")),
                          "'defaultLocale' is required"),
    "unsigned urls": (lambda d: _edit(d / "manifest.json", lambda m: m.update(signedUrls=False)),
                      "'signedUrls' must be true"),
    "logo missing": (lambda d: (d / "assets" / "logo.png").unlink(), "assets/logo.png: missing"),
    "logo wrong size": (lambda d: shutil.copyfile(d / "assets" / "logo.png", d / "assets" / "logo-small.png"),
                        "assets/logo-small.png: 320x320, Zendesk wants 128x128"),
    "placeholder left": (lambda d: _edit(d / "manifest.json", lambda m: m.update(version="{{base_url}}")),
                         "manifest.json: placeholder left unreplaced: {{base_url}}"),
}



#: How platform 2.2 pages loaded the client; platform 2.3+ pages must use ``{{{appclient}}}``.
OLD_CLIENT = "https://static.freshdev.io/fdk/2.0/assets/fresh_client.js"

FRESHDESK_BREAKAGES = {
    "old platform": (lambda d: _edit(d / "manifest.json", lambda m: m.update({"platform-version": "2.3"})),
                     "platform-version must be '3.0'"),
    "request template missing": (lambda d: _edit(d / "config" / "requests.json", lambda r: r.pop("deskloopWrong")),
                                 "deskloopWrong: declared in manifest.json modules.common.requests but not defined"),
    "request template undeclared": (lambda d: _edit(d / "manifest.json",
                                                    lambda m: m["modules"]["common"]["requests"].pop("deskloopSent")),
                                    "deskloopSent: defined here but not declared"),
    "iparam missing": (lambda d: _edit(d / "config" / "iparams.json", lambda i: i.pop("deskloop_app_token")),
                       "uses iparam.deskloop_app_token, which config/iparams.json does not define"),
    "token iparam not secure": (lambda d: _edit(d / "config" / "iparams.json",
                                                lambda i: i["deskloop_app_token"].update(secure=False)),
                                "deskloop_app_token holds a credential and must be \"secure\": true"),
    "http template": (lambda d: _edit(d / "config" / "requests.json", lambda r: _schema(r).update(protocol="http")),
                      "protocol 'http' must be 'https'"),
    "host with scheme": (lambda d: _edit(d / "config" / "requests.json",
                                         lambda r: _schema(r).update(host="https://deskloop.example.com")),
                         "must be a domain name, without protocol or path"),
    "host is an IP": (lambda d: _edit(d / "config" / "requests.json", lambda r: _schema(r).update(host="10.0.0.8")),
                      "must be a domain name, not an IP address"),
    "path without slash": (lambda d: _edit(d / "config" / "requests.json",
                                           lambda r: _schema(r).update(path="apps/api")), "must start with '/'"),
    "unknown method": (lambda d: _edit(d / "config" / "requests.json", lambda r: _schema(r).update(method="FETCH")),
                       "method 'FETCH' is not one of"),
    "secure iparam in path": (lambda d: _edit(d / "config" / "requests.json", lambda r: _schema(r).update(
        path="/apps/<%= iparam.deskloop_app_token %>")), "secure iparams may only go in headers"),
    "too many attempts": (lambda d: _edit(d / "config" / "requests.json",
                                          lambda r: r["deskloopSent"]["options"].update(maxAttempts=9)),
                          "deskloopSent.options.maxAttempts must be a whole number from 1 to 5"),
    "icon missing": (lambda d: (d / "app" / "styles" / "images" / "icon.svg").unlink(),
                     "ticket_sidebar.icon: app/styles/images/icon.svg does not exist"),
    "sidebar missing": (lambda d: _edit(d / "manifest.json", lambda m: m["modules"].pop("support_ticket")),
                        "modules.support_ticket.location.ticket_sidebar is required"),
    "engines missing": (lambda d: _edit(d / "manifest.json", lambda m: m.pop("engines")), "'engines' is required"),
    "page without the client": (lambda d: (d / "app" / "index.html").write_text(
        (d / "app" / "index.html").read_text().replace("{{{appclient}}}", OLD_CLIENT)),
        "does not load the Freshworks client"),
    "page loads a missing script": (lambda d: (d / "app" / "index.html").write_text(
        (d / "app" / "index.html").read_text().replace("</body>", '<script src="scripts/missing.js"></script></body>')),
        "references scripts/missing.js"),
    "shared panel missing": (lambda d: (d / "app" / "scripts" / "panel.js").unlink(), "references scripts/panel.js"),
    "script invokes an undeclared template": (lambda d: (d / "app" / "scripts" / "extra.js").write_text(
        'client.request.invokeTemplate("deskloopOther", {});'), "invokes request template 'deskloopOther'"),
    "placeholder left": (lambda d: _edit(d / "config" / "requests.json",
                                         lambda r: _schema(r).update(host="{{base_host}}")),
                         "config/requests.json: placeholder left unreplaced: {{base_host}}"),
}



INTERCOM_BREAKAGES = {
    "http url": (lambda d: _edit(d / "canvas-kit.json", lambda c: c["inbox"].update(
        initialize_url="http://deskloop.example.com/apps/intercom/initialize")),
        "inbox.initialize_url 'http://deskloop.example.com/apps/intercom/initialize' must be an absolute https://"),
    "submit url missing": (lambda d: _edit(d / "canvas-kit.json", lambda c: c["inbox"].pop("submit_url")),
                           "inbox.submit_url is missing"),
    "placeholder left": (lambda d: _edit(d / "canvas-kit.json", lambda c: c["inbox"].update(
        submit_url="{{base_url}}/apps/intercom/submit")), "placeholder left unreplaced: {{base_url}}"),
}


BREAKAGES = {"zendesk": ZENDESK_BREAKAGES, "freshdesk": FRESHDESK_BREAKAGES, "intercom": INTERCOM_BREAKAGES}


@pytest.mark.parametrize(("helpdesk", "breakage"), [(h, b) for h, found in BREAKAGES.items() for b in found],
                         ids=[f"{h}-{b}" for h, found in BREAKAGES.items() for b in found])
def test_each_check_reports_what_is_broken(helpdesk, breakage, package):
    folder = package(helpdesk)
    change, expected = BREAKAGES[helpdesk][breakage]
    change(folder)
    problems = CHECKS[helpdesk](folder)
    assert any(expected in p for p in problems), problems


def test_a_package_failing_its_checks_is_never_written(tmp_path):
    source = Path(shutil.copytree(SOURCE, tmp_path / "source", ignore=shutil.ignore_patterns("__pycache__")))
    _edit(source / "zendesk" / "manifest.json", lambda m: m["parameters"][0].pop("scopes"))
    with pytest.raises(BadInput, match="zendesk/manifest.json: parameters\\[0\\] 'deskloop_app_token': secure"):
        build_packages(BASE, tmp_path / "new" / "folders" / "out", source=source)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source"]


def test_the_same_url_gives_the_same_zips(built, tmp_path):
    build_packages(BASE, tmp_path / "again")
    for archive in ("zendesk.zip", "freshdesk.zip"):
        assert (tmp_path / "again" / archive).read_bytes() == (built / archive).read_bytes()


# --- the command ---------------------------------------------------------------------------------


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("DESKLOOP_HOME", str(tmp_path / "home"))
    return lambda *args: CliRunner().invoke(main, ["manifests", "build", *args])


def test_command_builds_and_lists_what_it_wrote(run, tmp_path):
    out = tmp_path / "apps"
    result = run("--base-url", BASE + "/", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"Apps for {BASE}, written to {out}" in result.output
    for line in ("zendesk.zip", "freshdesk.zip", "zendesk/manifest.json", "freshdesk/app/scripts/panel.js",
                 "intercom/canvas-kit.json"):
        assert line in result.output
    zip_line = next(line for line in result.output.splitlines() if "zendesk.zip" in line)
    assert zip_line.split()[1] == f"{(out / 'zendesk.zip').stat().st_size / 1024:.1f}"


def test_command_refuses_plain_http(run, tmp_path):
    result = run("--base-url", "http://example.com", "--out", str(tmp_path / "apps"))
    assert result.exit_code == 2
    assert "must use https" in result.output
    assert not (tmp_path / "apps").exists()


def test_command_refuses_a_folder_that_is_not_empty_unless_told_to_replace(run, tmp_path):
    out = tmp_path / "apps"
    assert run("--base-url", BASE, "--out", str(out)).exit_code == 0
    before = (out / "zendesk" / "manifest.json").read_text()

    again = run("--base-url", "https://other.example.com", "--out", str(out))
    assert again.exit_code == 2 and "not empty; pass --replace" in again.output
    assert (out / "zendesk" / "manifest.json").read_text() == before

    replaced = run("--base-url", "https://other.example.com", "--out", str(out), "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert "other.example.com" in (out / "zendesk" / "manifest.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == ["apps"]


def test_replace_never_wipes_a_folder_that_is_not_a_build(run, tmp_path):
    out = tmp_path / "apps"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = run("--base-url", BASE, "--out", str(out), "--replace")
    assert result.exit_code == 2 and "notes.txt" in result.output
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_command_leaves_nothing_behind_when_a_check_fails(run, tmp_path, monkeypatch):
    source = Path(shutil.copytree(SOURCE, tmp_path / "source", ignore=shutil.ignore_patterns("__pycache__")))
    _edit(source / "freshdesk" / "config" / "iparams.json", lambda i: i["deskloop_app_token"].update(secure=False))
    monkeypatch.setattr(build_module, "SOURCE", source)
    result = run("--base-url", BASE, "--out", str(tmp_path / "apps"))
    assert result.exit_code == 2
    assert "freshdesk/config/iparams.json: deskloop_app_token holds a credential" in result.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == ["source"]
