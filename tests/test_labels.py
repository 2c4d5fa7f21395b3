"""Label sources: specs, what each reads from a ticket, the checks, and the ranking."""

from __future__ import annotations

import random

import pytest

from core.errors import BadInput
from core.labelling.sources import LabelRow, LabelSource, check_source, rank_sources

WORDS = {
    "refund": "I want my money back for the order refund please",
    "delivery": "my parcel has not arrived where is the delivery",
    "login": "I cannot log in to my account password reset fails",
    "billing": "the invoice charged me twice on my card billing",
}


def _history(n: int = 400, seed: int = 1) -> tuple[list[LabelRow], list[str]]:
    """Tickets whose 'category' field follows the text on 60% of them, a 'plan' field that does not,
    a 'region' field with one value, and tags: an area tag plus an automation tag."""
    rng = random.Random(seed)
    rows, texts = [], []
    for i in range(n):
        intent = rng.choice(sorted(WORDS))
        words = WORDS[intent].split()
        rng.shuffle(words)
        texts.append(" ".join(words[:6]) + f" {rng.choice(['hi', 'hello', 'thanks'])}")
        fields = {"plan": rng.choice(["free", "pro", "business"]), "region": "eu"}
        if rng.random() < 0.6:
            fields["category"] = intent.title()
        rows.append(LabelRow(custom_fields=fields, tags=(f"reason:{intent}", "web_widget"),
                             group="Tier 1" if i % 2 else "Tier 2", macros=(f"Macro {intent}",) if i % 3 else ()))
    return rows, texts


def test_specs_round_trip_and_read_their_part_of_a_ticket():
    row = LabelRow(intent="x", tags=("reason:late", "vip"), custom_fields={"360": "Card Lost"}, ticket_type="incident",
                   group="Cards team", form="Default", macros=("First", "Cards: lost card"))
    assert LabelSource.parse("field:360").label(row) == "card_lost"
    assert LabelSource.parse("type").label(row) == "incident"
    assert LabelSource.parse("group").label(row) == "cards_team"
    assert LabelSource.parse("macro").label(row) == "cards:_lost_card"
    assert LabelSource.parse("tags:reason:*").label(row) == "reason:late"
    assert LabelSource.parse("tags:late,reason:late,vip").label(row) is None  # two members: ambiguous
    for spec in ("intent", "field:360", "type", "group", "form", "macro", "tags:reason:*", "tags:a,b", "discovered"):
        assert LabelSource.parse(spec).spec == spec


@pytest.mark.parametrize("spec", ["", "nonsense", "field:", "tags:", "tags:*", "tags:only-one"])
def test_a_malformed_spec_is_bad_input(spec):
    with pytest.raises(BadInput):
        LabelSource.parse(spec)


def test_a_source_with_no_value_one_value_or_free_text_is_refused():
    rows, _ = _history(100)
    with pytest.raises(BadInput, match="no value"):
        check_source(LabelSource.parse("field:missing"), rows)
    with pytest.raises(BadInput, match="one value"):
        check_source(LabelSource.parse("field:region"), rows)
    with pytest.raises(BadInput, match="no value"):
        check_source(LabelSource.parse("tags:nothing-here*"), rows)
    free = [LabelRow(custom_fields={"note": f"customer said thing number {i}"}) for i in range(50)]
    with pytest.raises(BadInput, match="free text"):
        check_source(LabelSource.parse("field:note"), free)


def test_the_ranking_puts_a_predictable_category_above_a_random_plan_and_rejects_one_value():
    rows, texts = _history()
    reports = {r.source: r for r in rank_sources(rows, texts)}
    category, plan = reports["field:category"], reports["field:plan"]
    assert category.rejected is None and category.classes == 4
    assert 0.5 < category.coverage < 0.7
    assert category.predictability > 0.8
    assert plan.predictability < 0.2
    assert category.score > 3 * plan.score
    assert reports["field:region"].rejected
    assert "tags:reason:*" in reports  # a tag family found by prefix
    ranked = rank_sources(rows, texts)
    assert ranked[0].source in {"field:category", "tags:reason:*"}
    assert ranked[-1].rejected  # rejected sources come last
    assert category.examples and category.examples[0]["examples"]
