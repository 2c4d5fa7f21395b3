"""The rules a helpdesk applies when an admin uploads a side-panel app, checked before they upload it.

Each ``check_*`` function takes a rendered package folder and returns its problems, one readable
line each, naming the file and the field ("manifest.json: parameters[0] 'x': ..."); an empty list
means the package passes. Nothing here reads the network or the original templates.

- **Zendesk**: the manifest rules of Zendesk's own validator gem, ``zendesk_apps_support`` (ZAS,
  ``lib/zendesk_apps_support/validations/manifest.rb``, ``secure_settings.rb``, ``translations.rb``),
  the offline counterpart of ``zcli apps:validate``, which needs a live Zendesk account. Two ZAS
  warnings count as errors here: a secure parameter without ``scopes`` (its value could be sent
  anywhere), and a token-like text parameter that is not secure.
- **Freshdesk**: Freshworks platform 3.0 (``manifest.json`` modules, ``config/requests.json``
  request templates, ``config/iparams.json``), as documented at
  https://developers.freshworks.com/docs/app-sdk/v3.0/support_ticket/advanced-interfaces/request-method/
  and shown in ``freshworks-developers/request-method-samples``.
- **Intercom**: the Canvas Kit URLs an admin pastes into the Developer Hub.
"""

from __future__ import annotations

import ipaddress
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

#: Build-time placeholders (``{{base_url}}``...). One left in a package means it was not rendered.
PLACEHOLDER = re.compile(r"\{\{\s*base_\w*\s*\}\}")
#: Files read as text when looking for placeholders.
TEXT_SUFFIXES = frozenset({".json", ".html", ".htm", ".js", ".css", ".svg", ".md", ".txt"})
#: Plain ``http`` is accepted for this host only: ZAS's ``valid_absolute_uri?`` allows
#: ``uri.host == 'localhost'`` (not 127.0.0.1), and Freshworks allows http in local testing.
LOCAL_HOST = "localhost"

# --- Zendesk (ZAS) -------------------------------------------------------------------------------

ZENDESK_FRAMEWORK_VERSION = "2.0"  # AppVersion::TO_BE_SERVED
ZENDESK_REQUIRED_KEYS = ("author", "defaultLocale")  # REQUIRED_MANIFEST_FIELDS
ZENDESK_BOOLEAN_KEYS = ("requirementsOnly", "marketingOnly", "singleInstall", "signedUrls", "private")
ZENDESK_STRING_KEYS = ("defaultLocale", "version", "frameworkVersion", "remoteInstallationURL",
                       "termsConditionsURL", "gaID")
ZENDESK_PARAMETER_TYPES = frozenset({"text", "checkbox", "url", "number", "multiline", "hidden", "oauth"})
ZENDESK_SCOPES = frozenset({"header", "body", "url", "jwt_secret_key", "jwt_claim", "basic_auth_username",
                            "basic_auth_password"})
#: ``SecureSettings::SECURABLE_KEYWORDS``: a text parameter named like this holds a secret.
SECRET_NAME = re.compile(r"token|key|pwd|password", re.IGNORECASE)
ZENDESK_LOCALE = re.compile(r"^[a-z]{2}(-\w{2,3})?$")  # Translations::VALID_LOCALE
#: Support locations ZAS knows (``location.rb``); other products are not used by Deskloop.
ZENDESK_SUPPORT_LOCATIONS = frozenset({"ticket_sidebar", "new_ticket_sidebar", "user_sidebar",
                                       "organization_sidebar", "top_bar", "nav_bar", "background", "modal",
                                       "ticket_editor"})
#: Translation keys ZAS requires in ``translations/en.json`` (``get_missing_keys``).
ZENDESK_PRIVATE_APP_KEYS = ("name",)
ZENDESK_PUBLIC_APP_KEYS = ("name", "short_description", "installation_instructions", "long_description")
#: The logos the admin centre shows, with the sizes Zendesk asks for.
ZENDESK_LOGOS = {"assets/logo.png": (320, 320), "assets/logo-small.png": (128, 128)}
ZENDESK_VECTOR_LOGO = "assets/logo.svg"

# --- Freshdesk (Freshworks platform 3.0) ---------------------------------------------------------

FRESHWORKS_PLATFORM_VERSION = "3.0"
FRESHWORKS_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH"})
FRESHWORKS_CONTENT_TYPES = frozenset({"application/json", "application/xml", "text/html", "text/xml",
                                      "application/jsonp", "text/plain", "text/javascript",
                                      "application/javascript", "application/vnd.api+json"})
FRESHWORKS_TEMPLATE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
FRESHWORKS_IPARAM_TYPES = frozenset({"text", "paragraph", "dropdown", "multiselect", "number", "phone_number",
                                     "email", "url", "radio", "checkbox", "date", "domain", "api_key"})
#: ``<%= iparam.name %>``, also inside ``encode(iparam.name)``.
IPARAM_REFERENCE = re.compile(r"\biparam\.([A-Za-z_$][\w$]*)")
INVOKE_TEMPLATE = re.compile(r"""invokeTemplate\(\s*["']([^"']+)["']""")
#: How a platform 2.3+ page loads the Freshworks client (replaces the old fresh_client.js URL).
FRESHWORKS_CLIENT_SCRIPT = "{{{appclient}}}"

# --- Intercom (Canvas Kit) -----------------------------------------------------------------------

INTERCOM_FILE = "canvas-kit.json"
INTERCOM_URL_KEYS = ("initialize_url", "submit_url")


def check_zendesk(package: Path) -> list[str]:
    """Problems ZAS would report for this Zendesk app folder (the future zip's root)."""
    package = Path(package)
    problems = _leftover_placeholders(package)
    manifest = _load_object(package / "manifest.json", "manifest.json", problems)
    if manifest is None:
        return problems
    problems += [f"manifest.json: {p}" for p in _zendesk_manifest(package, manifest)]
    problems += _zendesk_translations(package, manifest)
    problems += _zendesk_logos(package)
    return problems


def check_freshdesk(package: Path) -> list[str]:
    """Problems in this Freshworks platform 3.0 app folder (``manifest.json``, ``app/``, ``config/``)."""
    package = Path(package)
    problems = _leftover_placeholders(package)
    manifest = _load_object(package / "manifest.json", "manifest.json", problems)
    requests = _load_object(package / "config" / "requests.json", "config/requests.json", problems)
    iparams = _load_object(package / "config" / "iparams.json", "config/iparams.json", problems)
    if manifest is None:
        return problems
    problems += [f"manifest.json: {p}" for p in _freshdesk_manifest(package, manifest)]
    declared = _declared_requests(manifest)
    if requests is not None:
        problems += [f"config/requests.json: {p}" for p in
                     _freshdesk_requests(requests, declared, iparams if iparams is not None else {})]
    if iparams is not None:
        problems += [f"config/iparams.json: {p}" for p in _freshdesk_iparams(iparams, requests or {})]
    problems += _freshdesk_pages(package, manifest)
    problems += _freshdesk_invocations(package, declared)
    return problems


def check_intercom(package: Path) -> list[str]:
    """Problems in the Canvas Kit settings an Intercom admin pastes into the Developer Hub."""
    package = Path(package)
    problems = _leftover_placeholders(package)
    settings = _load_object(package / INTERCOM_FILE, INTERCOM_FILE, problems)
    if settings is None:
        return problems
    inbox = settings.get("inbox")
    if not isinstance(inbox, dict):
        return problems + [f"{INTERCOM_FILE}: 'inbox' must be an object with {', '.join(INTERCOM_URL_KEYS)}"]
    for key in INTERCOM_URL_KEYS:
        url = inbox.get(key)
        if not isinstance(url, str) or not url:
            problems.append(f"{INTERCOM_FILE}: inbox.{key} is missing")
        elif (problem := _absolute_url_problem(url)) is not None:
            problems.append(f"{INTERCOM_FILE}: inbox.{key} {url!r} {problem}")
    return problems


CHECKS = {"zendesk": check_zendesk, "freshdesk": check_freshdesk, "intercom": check_intercom}


# --- shared --------------------------------------------------------------------------------------


def _load_object(path: Path, label: str, problems: list[str]) -> dict | None:
    if not path.is_file():
        problems.append(f"{label}: missing")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{label}: not valid JSON ({exc})")
        return None
    if not isinstance(data, dict):
        problems.append(f"{label}: must be a JSON object")
        return None
    return data


def _leftover_placeholders(package: Path) -> list[str]:
    problems = []
    for path in sorted(p for p in package.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES):
        try:
            found = sorted(set(PLACEHOLDER.findall(path.read_text(encoding="utf-8"))))
        except UnicodeDecodeError:
            continue
        if found:
            problems.append(f"{path.relative_to(package).as_posix()}: placeholder left unreplaced: {', '.join(found)}")
    return problems


def _absolute_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be loaded by the helpdesk: it must be https, or http on localhost."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname == LOCAL_HOST:
        return None
    return "must be an absolute https:// URL (plain http only on localhost)"


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


# --- Zendesk -------------------------------------------------------------------------------------


def _zendesk_manifest(package: Path, manifest: dict) -> list[str]:
    problems = [f"'{key}' is required" for key in ZENDESK_REQUIRED_KEYS if manifest.get(key) is None]
    author = manifest.get("author")
    if author is not None:
        if not isinstance(author, dict):
            problems.append("'author' must be an object with name and email")
        else:
            problems += [f"author.{key} is required" for key in ("name", "email") if not author.get(key)]
            problems += [f"author.{key} must be a string" for key in ("name", "email", "url")
                         if author.get(key) is not None and not isinstance(author.get(key), str)]
            url = author.get("url")
            if isinstance(url, str) and not re.match(r"^https?://", url):
                problems.append(f"author.url {url!r} must start with http:// or https://")
    problems += [f"'{key}' must be true or false" for key in ZENDESK_BOOLEAN_KEYS
                 if key in manifest and not _is_bool(manifest[key])]
    problems += [f"'{key}' must be a string" for key in ZENDESK_STRING_KEYS
                 if manifest.get(key) is not None and not isinstance(manifest[key], str)]
    whitelist = manifest.get("domainWhitelist")
    if whitelist is not None and not (isinstance(whitelist, list) and all(isinstance(d, str) for d in whitelist)):
        problems.append("'domainWhitelist' must be an array of strings")
    if manifest.get("frameworkVersion") is None:
        problems.append("'frameworkVersion' is required")
    elif manifest["frameworkVersion"] != ZENDESK_FRAMEWORK_VERSION:
        problems.append(f"frameworkVersion {manifest['frameworkVersion']!r} is not served by Zendesk "
                        f"(use {ZENDESK_FRAMEWORK_VERSION!r})")
    if manifest.get("signedUrls") is not True:
        problems.append("'signedUrls' must be true: the sidebar page trusts only Zendesk's signed token")
    problems += _zendesk_locations(package, manifest)
    problems += _zendesk_parameters(manifest)
    return problems


def _zendesk_locations(package: Path, manifest: dict) -> list[str]:
    location = manifest.get("location")
    if not location:
        return ["'location' is required"]
    if not isinstance(location, dict):
        return ["'location' must be an object of products"]
    problems = []
    for product, places in location.items():
        if product != "support":
            problems.append(f"location.{product}: unknown product for this app (Deskloop runs in 'support')")
            continue
        if not isinstance(places, dict) or not places:
            problems.append(f"location.{product} must name at least one location")
            continue
        for name, options in places.items():
            where = f"location.{product}.{name}"
            if name not in ZENDESK_SUPPORT_LOCATIONS:
                problems.append(f"{where}: unknown Support location")
            if isinstance(options, str):
                options = {"url": options}
            if not isinstance(options, dict):
                problems.append(f"{where} must be a URL or an object with 'url'")
                continue
            url = options.get("url")
            if isinstance(url, str) and url:
                if (problem := _zendesk_location_url_problem(package, url)) is not None:
                    problems.append(f"{where}.url {url!r} {problem}")
            elif options.get("autoLoad", True):
                problems.append(f"{where}: a location that loads needs a 'url'")
            if "flexible" in options and not _is_bool(options["flexible"]):
                problems.append(f"{where}.flexible must be true or false")
            if options.get("signed") is False:
                problems.append(f"{where}.signed is false: the sidebar page needs Zendesk's signed token")
    return problems


def _zendesk_location_url_problem(package: Path, url: str) -> str | None:
    """``invalid_location_uri_error``: https or localhost when absolute, an existing ``assets/`` file
    when relative; URLs built from a setting are left to Zendesk."""
    if "{{setting." in url:
        return None
    parts = urlsplit(url)
    if parts.scheme:
        return _absolute_url_problem(url)
    if parts.path.startswith("assets/") and (package / parts.path).is_file():
        return None
    return "must be an absolute https:// URL or a file under assets/ in the package"


def _zendesk_parameters(manifest: dict) -> list[str]:
    parameters = manifest.get("parameters")
    if parameters is None:
        return []
    if not isinstance(parameters, list):
        return ["'parameters' must be an array"]
    problems = []
    names = [p.get("name") for p in parameters if isinstance(p, dict)]
    duplicates = sorted({str(n) for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"parameters: duplicate names {', '.join(duplicates)}")
    oauth = 0
    for index, parameter in enumerate(parameters):
        if not isinstance(parameter, dict):
            problems.append(f"parameters[{index}] must be an object")
            continue
        name = parameter.get("name")
        where = f"parameters[{index}] {name!r}"
        kind = parameter.get("type", "text")
        secure = parameter.get("secure", False)
        scopes = parameter.get("scopes")
        if not isinstance(name, str) or not name:
            problems.append(f"parameters[{index}]: 'name' is required")
        elif name == "name":
            problems.append(f"{where}: 'name' cannot be a parameter's name")
        if kind not in ZENDESK_PARAMETER_TYPES:
            problems.append(f"{where}: type {kind!r} is not one of {', '.join(sorted(ZENDESK_PARAMETER_TYPES))}")
        for flag in ("required", "secure"):
            if flag in parameter and not _is_bool(parameter[flag]):
                problems.append(f"{where}: '{flag}' must be true or false")
        if kind == "hidden" and parameter.get("required") is True:
            problems.append(f"{where}: a hidden parameter cannot be required")
        if kind == "oauth":
            oauth += 1
            if secure is True:
                problems.append(f"{where}: an oauth parameter cannot be secure")
        if scopes is not None:
            if secure is not True:
                problems.append(f"{where}: 'scopes' is only valid on a secure parameter")
            if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
                problems.append(f"{where}: 'scopes' must be an array of strings")
            else:
                unknown = sorted(set(scopes) - ZENDESK_SCOPES)
                if unknown:
                    problems.append(f"{where}: unknown scopes {', '.join(unknown)}")
        if secure is True and not scopes:
            problems.append(f"{where}: secure parameter without scopes (Zendesk could send its value "
                            "anywhere the app asks; limit it, e.g. \"scopes\": [\"header\"])")
        if isinstance(name, str) and SECRET_NAME.search(name) and kind in ("text", "password") and secure is not True:
            problems.append(f"{where}: looks like a secret (token/key/password) but is not secure")
        if "default" in parameter and (secure is True or kind == "hidden"):
            problems.append(f"{where}: a secure or hidden parameter should not have a default")
    if oauth > 1:
        problems.append("parameters: at most one oauth parameter")
    return problems


def _zendesk_translations(package: Path, manifest: dict) -> list[str]:
    locale = manifest.get("defaultLocale")
    problems = []
    folder = package / "translations"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        label = f"translations/{path.name}"
        if not ZENDESK_LOCALE.match(path.stem):
            problems.append(f"{label}: {path.stem!r} is not a locale name")
        data = _load_object(path, label, problems)
        if data is None:
            continue
        app = data.get("app")
        if not isinstance(app, dict):
            problems.append(f"{label}: needs an 'app' object")
            continue
        if path.stem == "en":
            wanted = ZENDESK_PRIVATE_APP_KEYS if manifest.get("private") is True else ZENDESK_PUBLIC_APP_KEYS
            present = {"short_description" if k == "description" else k for k in app}
            missing = [k for k in wanted if k not in present]
            if missing:
                problems.append(f"{label}: app.{', app.'.join(missing)} missing")
        if path.stem == locale:
            labels = parameters if isinstance(parameters := app.get("parameters"), dict) else {}
            for parameter in manifest.get("parameters") or []:
                name = parameter.get("name") if isinstance(parameter, dict) else None
                entry = labels.get(name) if name else None
                if name and not (isinstance(entry, dict) and isinstance(entry.get("label"), str)):
                    problems.append(f"{label}: app.parameters.{name}.label missing (the settings page "
                                    "would show the raw name)")
    if isinstance(locale, str):
        if not ZENDESK_LOCALE.match(locale):
            problems.append(f"manifest.json: defaultLocale {locale!r} is not a locale name")
        elif not (folder / f"{locale}.json").is_file():
            problems.append(f"translations/{locale}.json: missing (the translation file of defaultLocale)")
    return problems


def _zendesk_logos(package: Path) -> list[str]:
    problems = []
    for relative, wanted in ZENDESK_LOGOS.items():
        path = package / relative
        if not path.is_file():
            problems.append(f"{relative}: missing")
            continue
        size = _png_size(path)
        if size is None:
            problems.append(f"{relative}: not a PNG image")
        elif size != wanted:
            problems.append(f"{relative}: {size[0]}x{size[1]}, Zendesk wants {wanted[0]}x{wanted[1]}")
    vector = package / ZENDESK_VECTOR_LOGO
    if not vector.is_file():
        problems.append(f"{ZENDESK_VECTOR_LOGO}: missing")
    elif "<svg" not in vector.read_text(encoding="utf-8", errors="replace"):
        problems.append(f"{ZENDESK_VECTOR_LOGO}: not an SVG image")
    return problems


def _png_size(path: Path) -> tuple[int, int] | None:
    head = path.read_bytes()[:24]
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


# --- Freshdesk -----------------------------------------------------------------------------------


def _declared_requests(manifest: dict) -> dict:
    common = (manifest.get("modules") or {}).get("common") if isinstance(manifest.get("modules"), dict) else None
    requests = common.get("requests") if isinstance(common, dict) else None
    return requests if isinstance(requests, dict) else {}


def _sidebar(manifest: dict) -> dict | None:
    modules = manifest.get("modules")
    ticket = modules.get("support_ticket") if isinstance(modules, dict) else None
    location = ticket.get("location") if isinstance(ticket, dict) else None
    sidebar = location.get("ticket_sidebar") if isinstance(location, dict) else None
    return sidebar if isinstance(sidebar, dict) else None


def _freshdesk_manifest(package: Path, manifest: dict) -> list[str]:
    problems = []
    if manifest.get("platform-version") != FRESHWORKS_PLATFORM_VERSION:
        problems.append(f"platform-version must be {FRESHWORKS_PLATFORM_VERSION!r} "
                        f"(found {manifest.get('platform-version')!r}; 2.3 is deprecated)")
    if "product" in manifest:
        problems.append("'product' is the platform 2.x layout; platform 3.0 uses 'modules'")
    if not isinstance(manifest.get("modules"), dict):
        problems.append("'modules' is required")
    sidebar = _sidebar(manifest)
    if sidebar is None:
        problems.append("modules.support_ticket.location.ticket_sidebar is required")
    else:
        for key in ("url", "icon"):
            value = sidebar.get(key)
            if not isinstance(value, str) or not value:
                problems.append(f"modules.support_ticket.location.ticket_sidebar.{key} is required")
            elif not (package / "app" / value).is_file():
                problems.append(f"modules.support_ticket.location.ticket_sidebar.{key}: app/{value} does not exist")
    modules = declared if isinstance(declared := manifest.get("modules"), dict) else {}
    common = modules.get("common")
    if not isinstance(common, dict) or not isinstance(common.get("requests"), dict):
        problems.append("modules.common.requests must declare the request templates the app uses")
    engines = manifest.get("engines")
    if not isinstance(engines, dict):
        problems.append("'engines' is required (node and fdk versions)")
    else:
        problems += [f"engines.{key} is required" for key in ("node", "fdk")
                     if not isinstance(engines.get(key), str) or not engines.get(key)]
    return problems


def _freshdesk_requests(requests: dict, declared: dict, iparams: dict) -> list[str]:
    problems = [f"{name}: declared in manifest.json modules.common.requests but not defined here"
                for name in declared if name not in requests]
    problems += [f"{name}: defined here but not declared in manifest.json modules.common.requests"
                 for name in requests if name not in declared]
    secure = {name for name, spec in iparams.items() if isinstance(spec, dict) and spec.get("secure") is True}
    for name, template in requests.items():
        if not FRESHWORKS_TEMPLATE_NAME.match(name):
            problems.append(f"{name}: a template name takes letters, digits, '_' and '-' only")
        schema = template.get("schema") if isinstance(template, dict) else None
        if not isinstance(schema, dict):
            problems.append(f"{name}: needs a 'schema' object")
            continue
        problems += [f"{name}.schema.{p}" for p in _freshdesk_schema(schema, iparams, secure)]
        options = template.get("options", {})
        if not isinstance(options, dict):
            problems.append(f"{name}.options must be an object")
            continue
        attempts, delay = options.get("maxAttempts"), options.get("retryDelay")
        if attempts is not None and not (type(attempts) is int and 1 <= attempts <= 5):
            problems.append(f"{name}.options.maxAttempts must be a whole number from 1 to 5")
        if delay is not None and not (type(delay) is int and 0 <= delay <= 1500):
            problems.append(f"{name}.options.retryDelay must be milliseconds from 0 to 1500")
    return problems


def _freshdesk_schema(schema: dict, iparams: dict, secure: set[str]) -> list[str]:
    problems = []
    method = schema.get("method")
    if method not in FRESHWORKS_METHODS:
        problems.append(f"method {method!r} is not one of {', '.join(sorted(FRESHWORKS_METHODS))}")
    host = schema.get("host")
    hostname = None
    if not isinstance(host, str) or not host:
        problems.append("host is required")
    elif "://" in host or "/" in host:
        problems.append(f"host {host!r} must be a domain name, without protocol or path")
    elif "<%" not in host:
        hostname, _, port = host.partition(":")
        if _is_ip(hostname):
            problems.append(f"host {host!r} must be a domain name, not an IP address")
        if port and hostname != LOCAL_HOST:
            problems.append(f"host {host!r} has a port: Freshworks takes a domain name only "
                            "(serve Deskloop on the standard https port)")
    protocol = schema.get("protocol", "https")
    if protocol != "https" and not (protocol == "http" and hostname == LOCAL_HOST):
        problems.append(f"protocol {protocol!r} must be 'https' (Freshworks refuses http outside local testing)")
    path = schema.get("path", "/")
    if not isinstance(path, str) or not path.startswith("/"):
        problems.append(f"path {path!r} must start with '/'")
    headers = schema.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        problems.append("headers must be an object of strings")
        headers = {}
    content_type = headers.get("Content-Type")
    if content_type is not None and content_type not in FRESHWORKS_CONTENT_TYPES:
        problems.append(f"headers.Content-Type {content_type!r} is not supported by the request method")
    query = schema.get("query", {})
    if not isinstance(query, dict):
        problems.append("query must be an object")
        query = {}
    fields = {"host": host, "path": path, **{f"headers.{k}": v for k, v in headers.items()},
              **{f"query.{k}": v for k, v in query.items()}}
    for field, value in fields.items():
        if not isinstance(value, str):
            continue
        for used in IPARAM_REFERENCE.findall(value):
            if used not in iparams:
                problems.append(f"{field} uses iparam.{used}, which config/iparams.json does not define")
            elif used in secure and not field.startswith("headers."):
                problems.append(f"{field} uses the secure iparam.{used}: secure iparams may only go in headers")
    if isinstance(host, str) and "context." in host:
        problems.append("host uses context: the front end may fill host from non-secure iparams only")
    return problems


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _freshdesk_iparams(iparams: dict, requests: dict) -> list[str]:
    problems = []
    in_authorization = set()
    for template in requests.values():
        schema = template.get("schema") if isinstance(template, dict) else None
        headers = schema.get("headers") if isinstance(schema, dict) else None
        if isinstance(headers, dict) and isinstance(headers.get("Authorization"), str):
            in_authorization.update(IPARAM_REFERENCE.findall(headers["Authorization"]))
    for name, spec in iparams.items():
        if not isinstance(spec, dict):
            problems.append(f"{name} must be an object")
            continue
        for key in ("display_name", "type"):
            if not isinstance(spec.get(key), str) or not spec.get(key):
                problems.append(f"{name}.{key} is required")
        if isinstance(spec.get("type"), str) and spec["type"] not in FRESHWORKS_IPARAM_TYPES:
            problems.append(f"{name}.type {spec['type']!r} is not an iparam type")
        for flag in ("required", "secure"):
            if flag in spec and not _is_bool(spec[flag]):
                problems.append(f"{name}.{flag} must be true or false")
        if (name in in_authorization or SECRET_NAME.search(name)) and spec.get("secure") is not True:
            problems.append(f"{name} holds a credential and must be \"secure\": true "
                            "(otherwise agents' browsers can read it)")
    return problems


class _PageRefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and (src := found.get("src")):
            self.scripts.append(src)
        elif tag == "link" and "stylesheet" in (found.get("rel") or "").lower().split() and (href := found.get("href")):
            self.styles.append(href)


def _freshdesk_pages(package: Path, manifest: dict) -> list[str]:
    """The sidebar page loads the Freshworks client and only files the package holds."""
    sidebar = _sidebar(manifest)
    url = sidebar.get("url") if sidebar else None
    if not isinstance(url, str) or not url:
        return []
    page = package / "app" / url
    label = f"app/{url}"
    if not page.is_file():
        return []  # reported with the manifest
    refs = _PageRefs()
    refs.feed(page.read_text(encoding="utf-8"))
    problems = []
    if FRESHWORKS_CLIENT_SCRIPT not in refs.scripts:
        problems.append(f"{label}: does not load the Freshworks client (<script src=\"{FRESHWORKS_CLIENT_SCRIPT}\">)")
    for ref in refs.scripts + refs.styles:
        if ref == FRESHWORKS_CLIENT_SCRIPT or urlsplit(ref).scheme or ref.startswith("//"):
            continue
        target = urlsplit(ref).path
        if not (page.parent / target).is_file():
            problems.append(f"{label}: references {ref}, which the package does not contain")
    return problems


def _freshdesk_invocations(package: Path, declared: dict) -> list[str]:
    """The app's scripts and the declared templates agree: a literal ``invokeTemplate("name")``
    names a declared template, and every declared template is named somewhere in the scripts
    (app.js may call through a helper, so a quoted name counts as a use)."""
    problems = []
    app = package / "app"
    sources = {p.relative_to(package).as_posix(): p.read_text(encoding="utf-8", errors="replace")
               for p in sorted(app.rglob("*.js"))} if app.is_dir() else {}
    for label, text in sources.items():
        for name in INVOKE_TEMPLATE.findall(text):
            if name not in declared:
                problems.append(f"{label}: invokes request template {name!r}, which manifest.json does not declare")
    for name in declared:
        if not any(re.search(rf"""["']{re.escape(name)}["']""", text) for text in sources.values()):
            problems.append(f"manifest.json: request template {name!r} is declared but no script under app/ uses it")
    return problems
