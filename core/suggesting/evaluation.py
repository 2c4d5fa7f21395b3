"""Scoring a tenant's model on a labelled file it has not trained on.

Two questions are answered separately, as a support team asks them: how often is the top intent
right (forced choice, over rows whose label the tenant knows), and how honest is the model (how
often it abstains on known labels, and on labels it has never seen, each split by the reason the
suggestion gave: unfamiliar, ambiguous, low confidence). Latency is measured per
suggestion through the same code that serves the API (intent, tags, entities, similar tickets
and the draft), one ticket at a time, as an agent opening a ticket would see it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from sklearn.metrics import f1_score

from core.errors import BadInput
from core.ingest.importer import open_reader
from core.ingest.readers import FieldMap
from core.labelling import taxonomy
from core.labelling.label_rows import label_settings, label_source_of
from core.labelling.sources import LabelRow, LabelSource
from core.ml.abstention import REASONS
from core.ml.tags import tag_metrics
from core.runtime import Runtime
from core.store.tickets import canonical_intent, model_text
from core.suggesting.suggest import build_suggestion, current_model, sentence_vector
from core.types import Ticket


@dataclass(frozen=True)
class Row:
    text: str
    label: str | None
    customer_name: str | None
    tags: list[str] | None = None  # None: the file says nothing about this row's tags


def read_tickets(path: Path, fmt: str | None = None, mapping: FieldMap | None = None,
                 source: str | None = None) -> list[Ticket]:
    """Every ticket of a CSV/JSONL file, in file order (bad rows are bad input, with their line)."""
    if not Path(path).is_file():
        raise BadInput("no such file", file=str(path))
    return [ticket for _, ticket in open_reader(Path(path), fmt, mapping, source)]


def read_labelled(path: str | Path, fmt: str | None, mapping: FieldMap | None, source: str | None,
                  aliases: dict[str, str], label_source: LabelSource | None = None) -> list[Row]:
    """Every row of the file with its (alias-canonical) label and its tags. The label is the
    row's intent field, or what the tenant's label source reads from it (a custom field, a tag
    family...). A row with neither a label nor tags is bad input: there is nothing to score."""
    if not Path(path).is_file():
        raise BadInput("no such file", file=str(path))
    rows = []
    for line, ticket in open_reader(Path(path), fmt, mapping, source):
        label = canonical_intent(ticket.intent, aliases)
        if not label and label_source is not None and label_source.kind != "intent":
            label = label_source.label(label_row_of(ticket))
        tags = [aliases.get(t, t) for t in ticket.tags] if ticket.tags else None
        if not label and tags is None:
            raise BadInput("the row has no label or tags to evaluate against", file=str(path), line=line,
                           field="label")
        rows.append(Row(model_text(ticket), label or None, ticket.requester.name if ticket.requester else None, tags))
    if not rows:
        raise BadInput("the file has no rows", file=str(path))
    return rows


def label_row_of(ticket: Ticket) -> LabelRow:
    return LabelRow(intent=ticket.intent, tags=tuple(ticket.tags), custom_fields=ticket.custom_fields,
                    ticket_type=ticket.ticket_type, group=ticket.group, form=ticket.form, macros=tuple(ticket.macros))


def evaluate_file(runtime: Runtime, tenant: str, path: str | Path, fmt: str | None = None,
                  mapping: FieldMap | None = None, source: str | None = None) -> dict[str, float | int | str]:
    """The figures ``deskloop evaluate`` prints (see the module docstring)."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        aliases = taxonomy.load_aliases(session)
    with runtime.db.tenant_session(tenant_id) as session:
        label_source = label_source_of(label_settings(session, tenant_id))
    rows = read_labelled(path, fmt, mapping, source, aliases, label_source)
    model, stored = current_model(runtime, tenant)
    known_labels = set(model.intents.classes) if model.intents is not None else set()

    predicted, abstained, reasons, suggested_tags, latencies = [], [], [], [], []
    for row in rows:
        started = time.perf_counter()
        suggestion = build_suggestion(model, stored, row.text, row.customer_name,
                                      vector=sentence_vector(runtime, model, row.text))
        latencies.append((time.perf_counter() - started) * 1000)
        predicted.append(suggestion.intent)
        abstained.append(suggestion.abstained)
        reasons.append(suggestion.abstain_reason)
        suggested_tags.append([t.tag for t in suggestion.tags])

    labelled = np.asarray([r.label is not None for r in rows], dtype=bool)
    labels = np.asarray([r.label for r in rows], dtype=object)
    predicted_arr = np.asarray(predicted, dtype=object)
    abstained_arr = np.asarray(abstained, dtype=bool)
    known = np.asarray([label in known_labels for label in labels], dtype=bool)
    unknown = labelled & ~known
    correct = predicted_arr == labels
    answered = known & ~abstained_arr
    figures: dict[str, Any] = {
        "tenant": tenant,
        "model_version": stored.version,
        "label_source": model.label_source,
        "n": len(rows),
        "known_n": int(known.sum()),
        "accuracy": _ratio(correct[known].sum(), known.sum()),
        "macro_f1": round(float(f1_score(labels[known].astype(str), predicted_arr[known].astype(str),
                                         average="macro")), 4) if known.any() else None,
        "abstain_rate": _ratio(abstained_arr[known].sum(), known.sum()),
        "accuracy_answered": _ratio(correct[answered].sum(), answered.sum()),
        "unknown_n": int(unknown.sum()),
        "unknown_abstain_rate": _ratio(abstained_arr[unknown].sum(), unknown.sum()),
        "target_precision": model.abstention.target_precision if model.abstention is not None else None,
        "novelty_budget": model.abstention.novelty_budget if model.abstention is not None else None,
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p99_ms": round(float(np.percentile(latencies, 99)), 2),
    }
    reasons_arr = np.asarray(reasons, dtype=object)
    for reason in REASONS:  # why it abstained, on known and on never-seen intents
        figures[f"abstain_rate_{reason}"] = _ratio((reasons_arr[known] == reason).sum(), known.sum())
        figures[f"unknown_abstain_rate_{reason}"] = _ratio((reasons_arr[unknown] == reason).sum(), unknown.sum())
    tagged = [i for i, r in enumerate(rows) if r.tags is not None]
    if tagged:
        excluded = set(stored.metadata.get("excluded_tags") or ())  # automation tags: nothing to learn
        truth = [[t for t in cast(list[str], rows[i].tags) if t not in excluded] for i in tagged]
        scores = tag_metrics(truth, [suggested_tags[i] for i in tagged])
        figures.update({"tags_n": len(tagged), **{f"tags_{k}": v for k, v in scores.items()}})
    return figures


def _ratio(numerator, denominator) -> float | None:
    return round(float(numerator) / float(denominator), 4) if denominator else None
