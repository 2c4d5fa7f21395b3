"""The Zendesk-shaped demo history: no intent, and the sorting a real team leaves, with its flaws."""

from collections import Counter, defaultdict
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.cli import main
from core.demo.helpdesk_shaped import (
    AGENT_HABITS,
    AREA_OF,
    AREAS,
    CATEGORIES,
    CATEGORY_FIELD,
    CATEGORY_OF,
    CHANNEL_TAGS,
    FIELD_NAMES,
    OLD_CATEGORY_NAMES,
    PLAN_FIELD,
    REGION_FIELD,
    SLA_TAG,
    TICKET_TYPES,
    VIP_TAG,
    fine_tag,
    generate_helpdesk_history,
    read_truth,
    truth_path_for,
    write_helpdesk_history,
)
from core.demo.simulate import AGENTS, load_replies
from core.store.tables import TicketRow
from core.store.tickets import get_ticket

END = date(2026, 11, 20)


@pytest.fixture(scope="module")
def history():
    return generate_helpdesk_history(seed=7, end=END)


def agent_of(ticket) -> str | None:
    return next((m.author_name for m in ticket.messages if m.author_role == "agent"), None)


def best_guess_accuracy(labels, truth) -> float:
    """How often the truth is the commonest intent of the ticket's label (labelled tickets only)."""
    by_label: dict[str, Counter] = defaultdict(Counter)
    for label, intent in zip(labels, truth, strict=True):
        if label is not None:
            by_label[label][intent] += 1
    return sum(c.most_common(1)[0][1] for c in by_label.values()) / sum(sum(c.values()) for c in by_label.values())


def test_the_tables_cover_every_intent_once():
    intents = set(load_replies())
    assert sorted(i for group in AREAS.values() for i in group) == sorted(intents)
    assert sorted(i for group in CATEGORIES.values() for i in group) == sorted(intents)
    assert 8 <= len(AREAS) <= 12 and 40 <= len(CATEGORIES) <= 60
    assert all(len({AREA_OF[i] for i in group}) == 1 for group in CATEGORIES.values())  # merges stay in an area
    assert set(OLD_CATEGORY_NAMES) <= set(CATEGORIES) and not set(OLD_CATEGORY_NAMES.values()) & set(CATEGORIES)
    assert set(AGENT_HABITS) == set(AGENTS)
    assert set(FIELD_NAMES) == {CATEGORY_FIELD, PLAN_FIELD, REGION_FIELD}


def test_no_ticket_carries_its_intent_and_the_truth_comes_beside_it(history):
    tickets, truth = history
    assert len(tickets) == len(truth) == 10003
    assert all(t.intent is None and t.source == "zendesk" for t in tickets)
    assert len(set(truth)) == 77
    assert [t.created_at for t in tickets] == sorted(t.created_at for t in tickets)
    statuses = Counter(t.status for t in tickets)
    assert (statuses["solved"] + statuses["closed"]) / len(tickets) > 0.9 and statuses["open"] > 0
    for t in tickets:
        if t.status in ("new", "open"):
            assert not any(m.author_role == "agent" for m in t.messages)


def test_the_category_covers_about_sixty_percent_and_drifts_by_agent(history):
    tickets, truth = history
    values = [t.custom_fields.get(CATEGORY_FIELD) for t in tickets]
    assert 0.55 < sum(v is not None for v in values) / len(values) < 0.68
    assert 0.6 < best_guess_accuracy(values, truth) < 0.9  # a good label source, not a perfect one
    wrong, filled = Counter(), Counter()
    for t, value, intent in zip(tickets, values, truth, strict=True):
        if value is not None and (agent := agent_of(t)):
            expected = CATEGORY_OF[intent]
            if AGENT_HABITS[agent].old_names:
                expected = OLD_CATEGORY_NAMES.get(expected, expected)
            filled[agent] += 1
            wrong[agent] += value != expected
    drifting = {a for a in AGENTS if AGENT_HABITS[a].wrong_neighbour}
    assert len(drifting) == 2
    for agent in AGENTS:
        share = wrong[agent] / filled[agent]
        assert (0.12 < share < 0.22) if agent in drifting else share == 0, (agent, share)
    old_names_used = {v for t, v in zip(tickets, values, strict=True) if v in OLD_CATEGORY_NAMES.values()}
    assert old_names_used == set(OLD_CATEGORY_NAMES.values())
    assert {agent_of(t) for t, v in zip(tickets, values, strict=True) if v in old_names_used} == {"Robin"}


def test_plan_says_nothing_about_the_intent_and_region_has_one_value(history):
    tickets, truth = history
    plans = [t.custom_fields[PLAN_FIELD] for t in tickets]
    assert set(plans) == {"free", "pro", "business"}
    majority = Counter(truth).most_common(1)[0][1] / len(truth)
    assert best_guess_accuracy(plans, truth) < majority + 0.01
    assert {t.custom_fields[REGION_FIELD] for t in tickets} == {"eu"}


def test_automation_tags_are_on_every_ticket_of_their_channel(history):
    tickets, _ = history
    assert {t.channel for t in tickets} == set(CHANNEL_TAGS)
    for t in tickets:
        assert SLA_TAG in t.tags
        assert [tag for tag in CHANNEL_TAGS.values() if tag in t.tags] == [CHANNEL_TAGS[t.channel]]
    vip_orgs = {t.organization for t in tickets if VIP_TAG in t.tags}
    assert 1 <= len(vip_orgs) <= 3
    assert all((VIP_TAG in t.tags) == (t.organization in vip_orgs) for t in tickets)


def test_several_tags_a_ticket_with_forgotten_and_drifted_fine_tags(history):
    tickets, truth = history
    assert sum(len(t.tags) for t in tickets) / len(tickets) > 3.5 and min(len(t.tags) for t in tickets) >= 2
    handled = [(t, i) for t, i in zip(tickets, truth, strict=True) if agent_of(t)]
    assert sum(AREA_OF[i] in t.tags for t, i in handled) / len(handled) > 0.9
    area_tags = set(AREAS)
    with_fine = [t for t, i in handled if set(t.tags) - area_tags - set(CHANNEL_TAGS.values()) - {SLA_TAG, VIP_TAG}]
    assert 0.2 < 1 - len(with_fine) / len(handled) < 0.3  # agents forget the fine tag about a quarter of the time
    arrival_tags = Counter(tag for t, i in handled if i == "card_arrival" for tag in t.tags)
    assert {fine_tag("card_arrival"), "card_arrival", "card_delivery"} <= set(arrival_tags)
    assert arrival_tags["card-arrival"] > arrival_tags["card_arrival"]


def test_macros_on_about_half_the_solved_tickets(history):
    tickets, _ = history
    solved = [t for t in tickets if t.status in ("solved", "closed")]
    assert 0.4 < sum(bool(t.macros) for t in solved) / len(solved) < 0.6
    never = {a for a in AGENTS if not AGENT_HABITS[a].macro_rate}
    assert never and not any(t.macros for t in tickets if agent_of(t) in never)
    assert "Cards: card arrival" in {m for t in tickets for m in t.macros}


def test_type_group_and_form_are_weak_sorting(history):
    tickets, truth = history
    assert {t.ticket_type for t in tickets} == {*TICKET_TYPES, None}
    assert best_guess_accuracy([t.ticket_type for t in tickets], truth) < 0.05
    groups = Counter(t.group for t in tickets)
    assert 0.2 < groups["Tier 1"] / len(tickets) < 0.4 and len(groups) >= 4
    assert 1 <= len({t.form for t in tickets}) <= 2


def test_the_same_seed_gives_the_same_files(tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    for path, seed in ((a, 3), (b, 3), (c, 4)):
        assert write_helpdesk_history(path, count=300, seed=seed, end=END) == 300
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert truth_path_for(a).read_bytes() == truth_path_for(b).read_bytes()
    assert '"intent"' not in a.read_text()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_simulate_flag_writes_jsonl_that_imports(db, tmp_path):
    out = tmp_path / "zendesk.jsonl"
    runner = CliRunner()
    result = runner.invoke(main, ["simulate", "--helpdesk-shaped", "--out", str(out), "--tickets", "400",
                                  "--end", "2026-11-20"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    truth = read_truth(truth_path_for(out))
    assert len(truth) == 400
    result = runner.invoke(main, ["import", str(out), "--tenant", "zd"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "imported 400 tickets (400 new" in result.output
    tickets, _ = generate_helpdesk_history(count=400, seed=7, end=END)
    written = next(t for t in tickets if CATEGORY_FIELD in t.custom_fields and t.macros)
    with db.tenant_session(db.tenant_id("zd")) as session:
        assert set(session.scalars(select(TicketRow.intent))) == {None}
        stored = get_ticket(session, session.scalar(select(TicketRow.id).where(
            TicketRow.external_id == written.external_id))).ticket
    assert truth[written.external_id]
    assert stored.custom_fields == written.custom_fields and stored.tags == written.tags
    assert (stored.ticket_type, stored.group, stored.form, stored.macros) == \
        (written.ticket_type, written.group, written.form, written.macros)
