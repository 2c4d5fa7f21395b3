"""Emerging issues: tickets the model abstained on as *unfamiliar* (unlike anything it was taught),
grouped by the cluster they fell in. Such a group is a category of kind ``cluster`` named
``unfamiliar:<cluster>`` in the volumes, so the same rhythm and spike test apply: a group that
grows beyond its usual trickle is a new kind of problem nobody has an intent for yet.
"""

from __future__ import annotations

PREFIX = "unfamiliar:"


def category(cluster_key: int | None) -> str:
    return f"{PREFIX}{cluster_key if cluster_key is not None else 'unclustered'}"


def is_emerging(category_name: str) -> bool:
    return category_name.startswith(PREFIX)
