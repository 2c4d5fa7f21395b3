"""Learning from a helpdesk-shaped history with no intent field: label sources, tags, intents.

On simulated Zendesk-shaped histories (``core.demo.helpdesk_shaped``: no intent; several tags per
ticket with automation tags mixed in; a category dropdown on about 60% of tickets with some
agents' drift; a plan field that says nothing about the text; a region field with one value;
types, groups, forms, macros), for each seed:

1. ``labels suggest``: where the true category source (the dropdown) ranks, and the top three.
2. Tags: the multi-label tag model trained on the oldest 80% of tickets (time order), scored on
   the newest 20%: micro and macro precision, recall and F1 against the tags agents put on them
   (automation tags excluded by the same rule training uses).
3. Intents once the category source is chosen: the model trained on the oldest 80%, scored on the
   newest 20% that carry a category: accuracy against the value agents chose (drift included),
   and against the value the ticket's true intent maps to (what a careful agent would have chosen);
   abstention rate, and accuracy of the answers given.

Everything runs through the code ``deskloop labels suggest`` and ``deskloop train`` run
(:func:`core.labelling.sources.rank_sources`, :class:`core.ml.model.TicketModel`), in one process, with the
served sentence encoder.

    .venv/bin/python bench/label_sources.py [--tickets 10003] [--seeds 7 11 23] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.demo.helpdesk_shaped import CATEGORY_FIELD, CATEGORY_OF, FIELD_NAMES, generate_helpdesk_history
from core.labelling.sources import LabelRow, LabelSource, labels_for, normalize_label, rank_sources
from core.learning.training import DEFAULT_TAG_PRECISION
from core.ml.encoder import encoder
from core.ml.model import TicketModel, TrainingTicket
from core.ml.tags import automation_tags, tag_metrics
from core.store.tickets import model_text
from core.text.normalize import clean_message

TRUE_SOURCE = f"field:{CATEGORY_FIELD}"


def _reply(ticket) -> str | None:
    if ticket.status not in ("solved", "closed"):
        return None
    return next((clean_message(m.body) for m in ticket.messages if m.author_role == "agent" and m.public), None)


def run(count: int, seed: int, encoder_dir: Path, tag_precision: float = DEFAULT_TAG_PRECISION) -> dict:
    tickets, truth = generate_helpdesk_history(count=count, seed=seed)
    texts = [model_text(t) for t in tickets]
    rows = [LabelRow(intent=t.intent, tags=tuple(t.tags), custom_fields=t.custom_fields, ticket_type=t.ticket_type,
                     group=t.group, form=t.form, macros=tuple(t.macros)) for t in tickets]
    excluded = automation_tags([list(t.tags) for t in tickets], [t.channel for t in tickets])

    started = time.perf_counter()
    ranked = rank_sources(rows, texts, excluded, FIELD_NAMES)
    rank_seconds = time.perf_counter() - started
    usable = [r.source for r in ranked if not r.rejected]
    true_rank = usable.index(TRUE_SOURCE) + 1 if TRUE_SOURCE in usable else None

    labels = labels_for(LabelSource.parse(TRUE_SOURCE), rows)
    split = int(len(tickets) * 0.8)
    served = encoder(encoder_dir)
    vectors = served.encode(texts)
    training = [TrainingTicket(ticket_id=i, external_id=t.external_id, text=texts[i], intent=labels[i],
                               tags=[x for x in t.tags if x not in excluded], reply=_reply(t),
                               requester_name=t.requester.name if t.requester else None)
                for i, t in enumerate(tickets[:split])]
    started = time.perf_counter()
    model = TicketModel.fit(training, encoder=served, vectors=vectors[:split], noisy_labels=True,
                            tag_options={"excluded": excluded, "target_precision": tag_precision})
    train_seconds = time.perf_counter() - started

    held = range(split, len(tickets))
    true_tags, predicted_tags = [], []
    answers = []  # (chosen value, clean value, predicted, abstained)
    for i in held:
        text, vector = texts[i], vectors[i]
        row = model.ngram_row(text)
        predicted_tags.append([tag for tag, _ in model.tag_model.suggest(row, vector)] if model.tag_model else [])
        true_tags.append([x for x in tickets[i].tags if x not in excluded])
        if labels[i] is None:
            continue
        judged = model.intent_judgement(text, vector, row)
        answers.append((labels[i], normalize_label(CATEGORY_OF[truth[i]]), judged.intent,
                        judged.abstain_reason is not None))
    chosen = np.array([a[0] for a in answers])
    clean = np.array([a[1] for a in answers])
    predicted = np.array([a[2] for a in answers])
    abstained = np.array([a[3] for a in answers])
    return {
        "seed": seed, "tickets": len(tickets),
        "true_source_rank": true_rank,
        "top3": [(r.source, round(r.score, 2)) for r in ranked[:3]],
        "rank_seconds": round(rank_seconds, 1),
        "tags": tag_metrics(true_tags, predicted_tags),
        "tags_learned": len(model.tag_model.tags) if model.tag_model else 0,
        "intent_n": len(answers),
        "intent_accuracy_vs_chosen": round(float((predicted == chosen).mean()), 4),
        "intent_accuracy_vs_true": round(float((predicted == clean).mean()), 4),
        "chosen_vs_true_agreement": round(float((chosen == clean).mean()), 4),
        "abstain_rate": round(float(abstained.mean()), 4),
        "accuracy_answered_vs_true": round(float((predicted == clean)[~abstained].mean()), 4)
        if (~abstained).any() else None,
        "train_seconds": round(train_seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10003)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    parser.add_argument("--tag-precision", type=float, default=DEFAULT_TAG_PRECISION)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as encoders:
        results = [run(args.tickets, seed, Path(encoders), args.tag_precision) for seed in args.seeds]
    if args.json:
        print(json.dumps(results))
        return 0
    print(json.dumps(results), file=sys.stderr)  # the whole record, should the table below not say enough
    print(f"{'seed':>5} {'tickets':>8} {'true source rank':>17} {'tag micro-F1':>13} {'tag macro-F1':>13} "
          f"{'intent acc (chosen)':>20} {'intent acc (true)':>18} {'abstain':>8} {'answered acc':>13}")
    for r in results:
        print(f"{r['seed']:>5} {r['tickets']:>8} {str(r['true_source_rank']):>17} {r['tags']['micro_f1']:>13.3f} "
              f"{r['tags']['macro_f1']:>13.3f} {r['intent_accuracy_vs_chosen']:>20.3f} "
              f"{r['intent_accuracy_vs_true']:>18.3f} {r['abstain_rate']:>8.3f} "
              f"{r['accuracy_answered_vs_true'] or 0:>13.3f}")
        print(f"      top three sources: {r['top3']}; ranking {r['rank_seconds']} s, training {r['train_seconds']} s; "
              f"{r['tags_learned']} tags learned; agents' chosen value matches the true one on "
              f"{r['chosen_vs_true_agreement']:.1%} of held-out tickets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
