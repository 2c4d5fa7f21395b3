"""A tenant's product areas: which intents and tags belong to which part of the product, and who
owns it, so an incident says "Billing (owner: ana@example.com)" rather than a tag nobody reads.

Kept in the tenant's settings (``product_areas``). A mapping that names an intent or tag the
tenant has never seen is refused: a typo would otherwise silently route nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from core.errors import BadInput
from core.runtime import Runtime
from core.store.tables import TicketRow
from core.store.tenants import locked_tenant

SETTING = "product_areas"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Area:
    name: str
    owner: str | None
    intents: frozenset[str]
    tags: frozenset[str]


def parse(mapping: Any) -> list[Area]:
    """The areas in ``{"Billing": {"owner": "...", "intents": [...], "tags": [...]}}``."""
    if not isinstance(mapping, dict):
        raise BadInput("product areas must be an object of area name -> {owner, intents, tags}")
    areas = []
    for name, spec in mapping.items():
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise BadInput("an area name must be 1-255 characters", field=str(name))
        if not isinstance(spec, dict) or set(spec) - {"owner", "intents", "tags"}:
            raise BadInput("an area is an object with owner, intents and tags only", field=name)
        owner = spec.get("owner")
        if owner is not None and (not isinstance(owner, str) or not _EMAIL.match(owner)):
            raise BadInput("the owner must be an email address", field=f"{name}.owner")
        lists = {}
        for key in ("intents", "tags"):
            value = spec.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise BadInput(f"{key} must be a list of names", field=f"{name}.{key}")
            lists[key] = frozenset(value)
        areas.append(Area(name.strip(), owner, lists["intents"], lists["tags"]))
    return areas


def load(settings: dict[str, Any] | None) -> list[Area]:
    """The areas stored in a tenant's settings (already validated when set)."""
    return parse((settings or {}).get(SETTING) or {})


def areas_of(areas: list[Area], intent: str | None, tags: list[str]) -> list[Area]:
    return [a for a in areas if (intent is not None and intent in a.intents) or a.tags.intersection(tags)]


def area_for(areas: list[Area], kind: str, category: str) -> Area | None:
    """The area a category belongs to (an area's own volume: that area)."""
    for area in areas:
        if (kind == "area" and area.name == category) or (kind == "intent" and category in area.intents) or (
                kind == "tag" and category in area.tags):
            return area
    return None


def set_areas(runtime: Runtime, slug: str, mapping: Any) -> list[Area]:
    """Validate and store the tenant's areas (replacing the previous ones). Tickets already
    counted keep their counts; areas count from the next ticket on."""
    areas = parse(mapping)
    tenant_id = runtime.db.tenant_id(slug)
    with runtime.db.transaction(tenant_id) as session:
        known_intents = set(session.scalars(select(TicketRow.intent).where(TicketRow.intent.is_not(None)).distinct()))
        known_tags = {t for tags in session.scalars(select(TicketRow.tags)) for t in (tags or [])}
        for area in areas:
            unknown = sorted(area.intents - known_intents) + sorted(area.tags - known_tags)
            if unknown:
                raise BadInput(f"no ticket of {slug} has {', '.join(unknown)}", field=area.name)
        row = locked_tenant(session, tenant_id)
        row.settings = {**(row.settings or {}), SETTING: mapping}
    return areas
