"""Where a question was asked, as a compact key suggestions can condition on.

"How do I export my data?" asked on the Analytics dashboard and in Account Settings wants two
different answers. A :class:`core.types.PageContext` says where the customer was, but its URL is
too specific to learn from (``/projects/123/export`` and ``/projects/456/export`` are one page)
and its app state holds anything the host sends. So a context is reduced to two parts:

- the *route*: the URL's path (or a single-page app's ``#/`` fragment) with every segment that
  looks like an id (digits, a UUID, a long hex or letter-and-digit token) replaced by ``:id``;
- the *area*: the product area the host names (``app_state["area"]``), else
  the route's first segment.

The key is stored as ``"area|route"`` (on resolutions, suggestions and, through them, signals)
and read in three places: the intent classifier sees it as two extra words appended to the text
(:func:`with_context`), drafting re-ranks similar resolved tickets so one asked on the same page
wins a close call (:func:`rerank`), and the live memory remembers which reply worked on which page.
A ticket without a page context never gets these words or bonuses, so its suggestion is exactly
what it was before context existed.

A host that knows its product area or route passes them in ``app_state`` (``area``, ``route``)
rather than as new :class:`~core.types.PageContext` fields: a stored ticket's content hash is the
hash of its common shape, so a new field would make every ticket with a context look changed on
the next import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from core.types import PageContext

#: The score bonus a similar resolved ticket gets for having been asked on the same route (half of
#: it for the same area only), added to its cosine before the closest is chosen. Tuned with
#: ``bench/page_context.py --tune`` on the tuning seeds 100-102 (never on the reported ones; 2026-12-07):
#: accuracy of the chosen resolution on page-dependent questions 0.711 at 0, 0.918 at 0.05, 0.958
#: at 0.1, 0.976 at 0.15 and 0.2, 0.987 at 0.3; the other questions 0.885 at every value. 0.15 is
#: the smallest on the plateau: the bonus also reorders a day-one tenant's neighbours of every
#: question, where a larger one would let a ticket from the same page beat a much closer question.
CONTEXT_BONUS = 0.15
#: How many similar resolved tickets a contextual suggestion re-ranks (the usual 5, plus enough of
#: the same question asked on other pages for the right page's ticket to be among them).
RERANK_POOL = 20

#: A path segment that names one record rather than a page: digits, a UUID, or a token of six or
#: more letters, digits, ``_`` and ``-`` with at least two digits (``usr_8f3k2a``, ``5f3a9c2e11``;
#: not ``oauth2`` or ``v2``).
_ID_SEGMENT = re.compile(
    r"\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|"
    r"(?=(?:[^\d]*\d){2})[A-Za-z0-9_-]{6,}", re.I)
_NOT_WORD = re.compile(r"[^a-z0-9]+")
#: Longest key stored (the suggestions column's width): a route this long is cut at a segment.
MAX_KEY = 255


@dataclass(frozen=True)
class ContextKey:
    """A product area and an id-free route; either may be missing, not both."""

    area: str | None
    route: str | None

    def __str__(self) -> str:
        return f"{self.area or ''}|{self.route or ''}"[:MAX_KEY]

    @classmethod
    def parse(cls, stored: str | None) -> ContextKey | None:
        """The key :meth:`__str__` stored, or ``None`` (nothing stored, or nothing in it)."""
        if not stored or "|" not in stored:
            return None
        area, route = stored.split("|", 1)
        return cls(area or None, route or None) if area or route else None

    def tokens(self) -> str:
        """The words the intent classifier reads: ``__area_analytics __route_reports_id_export``.
        Word characters only, so the word tokenizer keeps each one whole."""
        parts = []
        if self.area:
            parts.append(f"__area_{_NOT_WORD.sub('_', self.area)}")
        if self.route:
            parts.append(f"__route_{_NOT_WORD.sub('_', self.route.lower()).strip('_') or 'root'}")
        return " ".join(parts)

    def same_page(self, other: ContextKey | None) -> bool:
        """The same route; the same area where either has no route."""
        if other is None:
            return False
        if self.route and other.route:
            return self.route == other.route
        return bool(self.area) and self.area == other.area

    def match(self, other: ContextKey | None) -> float:
        """1 for the same route, 0.5 for the same area only, else 0."""
        if other is None:
            return 0.0
        if self.route and self.route == other.route:
            return 1.0
        return 0.5 if self.area and self.area == other.area else 0.0


def route_of(url: str | None) -> str | None:
    """The path of ``url`` (a full URL or a path) with ids replaced by ``:id``, lower-cased,
    without query or trailing slash; a ``#/...`` fragment is a single-page app's path and wins.
    ``None`` when there is no path to speak of."""
    if not url or not url.strip():
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    path = parts.fragment if parts.fragment.startswith("/") else parts.path
    path = path.split("?", 1)[0]
    segments = [s for s in path.split("/") if s]
    if not segments:
        return "/" if parts.scheme or url.strip().startswith("/") else None
    return "/" + "/".join(":id" if _ID_SEGMENT.fullmatch(s) else s.lower() for s in segments)


def context_key(page: PageContext | Mapping[str, Any] | None) -> ContextKey | None:
    """The key of a page context (a model or a stored dict), ``None`` without a usable one.
    A route or area the host gives (``app_state["route"]``/``["area"]``, or top-level keys of a
    dict) is trusted over one read from ``url``; ids are stripped from every route."""
    if page is None:
        return None
    if isinstance(page, PageContext):
        page = page.model_dump()
    if not isinstance(page, Mapping):
        return None
    state = page.get("app_state")
    state = state if isinstance(state, Mapping) else {}
    route = route_of(_text(page.get("route")) or _text(state.get("route"))) or route_of(_text(page.get("url")))
    area = _text(page.get("area")) or _text(state.get("area"))
    if area is None and route and route != "/":
        first = route.split("/")[1]
        area = None if first == ":id" else first
    area = _NOT_WORD.sub("-", area.lower()).strip("-") or None if area else None
    return ContextKey(area, route) if area or route else None


def stored_key(page: PageContext | Mapping[str, Any] | None) -> str | None:
    """:func:`context_key` as the string stored on resolutions and suggestions."""
    key = context_key(page)
    return str(key) if key is not None else None


def with_context(text: str, key: ContextKey | None) -> str:
    """``text`` with the context's words appended (``text`` itself without a context)."""
    return f"{text}\n{key.tokens()}" if key is not None else text


def rerank(neighbours: list[tuple[int, float]], key: ContextKey | None, context_of: Callable[[int], str | None],
           bonus: float | None = None, worked: Callable[[int], bool] | None = None) -> list[tuple[int, float]]:
    """``neighbours`` (ticket id, cosine), best first after adding ``bonus`` (default
    :data:`CONTEXT_BONUS`) times how well each one's stored context (``context_of(ticket id)``)
    matches ``key``; a ticket whose reply ``worked`` on this page counts as a full match. Scores
    stay the plain cosines (they are shown as evidence). Unchanged order without a key."""
    if key is None or not neighbours:
        return neighbours
    bonus = CONTEXT_BONUS if bonus is None else bonus  # read at call time: the tuning run varies it

    def boosted(item: tuple[int, tuple[int, float]]) -> tuple[float, int]:
        position, (ticket_id, score) = item
        matched = key.match(ContextKey.parse(context_of(ticket_id)))
        if worked is not None and worked(ticket_id):
            matched = 1.0
        return -(score + bonus * matched), position

    return [n for _, n in sorted(enumerate(neighbours), key=boosted)]


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
