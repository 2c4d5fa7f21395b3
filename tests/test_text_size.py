"""Size discipline: every path text enters by keeps its raw body to a cap and lets models read a
bounded, marked text; and the text models themselves do work linear in what they read.

Nothing here times anything: the caps are checked by the lengths stored and read, and linearity by
what each rule is handed (the sentiment rules' word windows, one start per run for the entity
patterns that used to restart inside a run) and by equality with the slower code they replace.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from vaderSentiment import vaderSentiment as vader

from core.dispatch import drains
from core.ingest.importer import import_file
from core.ml.templates import cut
from core.store.tables import MessageRow, SuggestionRow, TicketRow
from core.text import entities, limits, sentiment, valence
from core.text.entities import AMOUNT_START, EMAIL_START, find_entities
from core.text.limits import (
    MESSAGE_MODEL_CHARS,
    MESSAGE_RAW_CHARS,
    MESSAGE_RAW_FLOOR_CHARS,
    TICKET_MODEL_CHARS,
    TICKET_RAW_CHARS,
    marker,
    raw_budgets,
    split_marker,
    truncated,
)
from core.text.normalize import clean_message, text_for_model
from tests.test_limits import (  # noqa: F401  (world is a fixture)
    ZENDESK_FIXTURES,
    World,
    bearer,
    token_for,
    world,
    zendesk_headers,
)

MARKER = re.compile(r"\[\.\.\. truncated (\d+) characters\]$")
SLACK = 60  # a cut text may end its last line early and adds a marker line


def left_out(text: str) -> int:
    found = MARKER.search(text)
    assert found is not None, text[-200:]
    return int(found.group(1))


def words(n: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    vocabulary = "card refund still not arrived order please help waiting week again account blocked".split()
    return " ".join(rng.choice(vocabulary) for _ in range(n))


# -- 1. the caps and the marker ------------------------------------------------------------------------

def test_a_cut_text_says_how_much_it_left_out():
    assert truncated("short", 10) == "short"
    text = "word " * 1000  # 5,000 characters
    cut_text = truncated(text, 1000)
    kept, count = split_marker(cut_text)
    assert len(kept) == 999 and kept.endswith("word")  # cut at the last space before the limit
    assert count == len(text) - len(kept) and cut_text.endswith("\n[... truncated 4001 characters]")
    again = truncated(cut_text, 500)
    assert left_out(again) == count + 999 - len(split_marker(again)[0])  # a second cut adds to the first


def test_raw_budgets_cap_each_message_and_the_ticket():
    assert raw_budgets([10, 20]) == [MESSAGE_RAW_CHARS, MESSAGE_RAW_CHARS]
    budgets = raw_budgets([MESSAGE_RAW_CHARS] * 6)
    assert budgets[:3] == [MESSAGE_RAW_CHARS] * 3
    assert sum(budgets[:4]) == TICKET_RAW_CHARS
    assert budgets[4:] == [MESSAGE_RAW_FLOOR_CHARS] * 2  # past the ticket's budget a message keeps its start
    assert raw_budgets([100], already=TICKET_RAW_CHARS) == [MESSAGE_RAW_FLOOR_CHARS]


def test_a_long_message_is_cleaned_to_its_cap_and_marked():
    body = "<p>" + words(20_000) + "</p><blockquote>On Monday Sam wrote: earlier</blockquote>"
    cleaned = clean_message(body)
    assert len(cleaned) <= MESSAGE_MODEL_CHARS + SLACK
    assert left_out(cleaned) > 0 and "earlier" not in cleaned
    stored = truncated(words(80_000), MESSAGE_RAW_CHARS)  # a raw body cut when stored
    carried = clean_message(stored)
    assert left_out(carried) >= split_marker(stored)[1]  # the raw cut is counted too
    assert clean_message("Where is my card?") == "Where is my card?"


def test_a_ticket_of_many_long_messages_reads_as_one_bounded_text():
    bodies = [clean_message(words(6_000, seed)) for seed in range(8)]
    text = text_for_model("Card " * 500, bodies)
    assert len(text) <= TICKET_MODEL_CHARS + SLACK and left_out(text) > 0
    assert text.startswith("Card Card")


# -- 2. each entry path --------------------------------------------------------------------------------

def _long_html(n_words: int) -> str:
    return "<div><p>My card was declined again.</p><p>" + words(n_words) + "</p></div>"


def test_an_import_keeps_the_raw_body_to_its_cap_and_marks_the_model_text(db, tmp_path):
    body = _long_html(60_000)  # about 400,000 characters
    line = {"external_id": "big-1", "subject": "Declined", "messages": [
        {"author_role": "customer", "body": body},
        {"author_role": "agent", "body": "Please retry.", "public": True}]}
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps(line) + "\n")
    import_file(db, path, "sizes", show_progress=False)
    with db.engine.connect() as conn:
        raw, clean = conn.execute(select(MessageRow.body_raw, MessageRow.body).order_by(MessageRow.position)).first()
        text = conn.scalar(select(TicketRow.text))
    assert raw.startswith(body[:MESSAGE_RAW_CHARS - 1000])  # the raw body, as sent, up to its cap
    assert len(raw) <= MESSAGE_RAW_CHARS + SLACK and left_out(raw) == pytest.approx(len(body) - len(raw), abs=SLACK)
    assert clean.startswith("My card was declined again.") and len(clean) <= MESSAGE_MODEL_CHARS + SLACK
    assert left_out(clean) > len(body) - MESSAGE_RAW_CHARS
    assert len(text) <= MESSAGE_MODEL_CHARS + 2 * SLACK and left_out(text) > 0


def test_a_webhook_message_keeps_its_raw_body_to_its_cap_and_marks_the_model_text(world: World):
    client = world.app().test_client()
    event = json.loads((ZENDESK_FIXTURES / "ticket.created.json").read_text())
    event["detail"]["id"] = "77001"
    event["detail"]["description"] = words(50_000)  # about 300,000 characters
    event["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = json.dumps(event).encode()
    answer = client.post("/webhooks/zendesk/acme", data=body, headers=zendesk_headers(body),
                         content_type="application/json")
    assert answer.status_code == 200
    drains.wait_idle()  # the embedded default applies it after the answer
    with world.db.engine.connect() as conn:
        ticket_id, text = conn.execute(select(TicketRow.id, TicketRow.text)
                                       .where(TicketRow.external_id == "77001")).one()
        raw, clean = conn.execute(select(MessageRow.body_raw, MessageRow.body)
                                  .where(MessageRow.ticket_id == ticket_id)).one()
    description = event["detail"]["description"]
    assert raw.startswith(description[:MESSAGE_RAW_CHARS - 1000]) and len(raw) <= MESSAGE_RAW_CHARS + SLACK
    assert left_out(raw) > 0 and left_out(clean) > 0 and left_out(text) > 0
    assert len(clean) <= MESSAGE_MODEL_CHARS + SLACK and len(text) <= MESSAGE_MODEL_CHARS + 2 * SLACK


def _suggested_text(world: World) -> str:
    with world.db.engine.connect() as conn:
        return conn.scalar(select(SuggestionRow.text).order_by(SuggestionRow.id.desc()).limit(1))


def test_a_long_text_a_panel_sends_is_read_to_its_cap_not_refused(world: World):
    client = world.app().test_client()
    text = "My card never arrived. " + words(30_000)  # about 180,000 characters
    answer = client.post("/apps/api/tickets/99999/suggestion", json={"text": text}, headers=bearer(world.app_token))
    assert answer.status_code == 200, answer.get_json()
    read = _suggested_text(world)
    assert read.startswith("My card never arrived.") and len(read) <= MESSAGE_MODEL_CHARS + SLACK
    assert left_out(read) > len(text) - MESSAGE_MODEL_CHARS - SLACK


def test_a_long_text_sent_to_the_api_is_read_to_its_cap(world: World):
    app = world.app()
    text = "Where is my refund? " + words(30_000)
    answer = app.test_client().post("/api/v1/tenants/acme/suggest", json={"text": text},
                                    headers=bearer(token_for(app)))
    assert answer.status_code == 200, answer.get_json()
    read = _suggested_text(world)
    assert read.startswith("Where is my refund?") and len(read) <= MESSAGE_MODEL_CHARS + SLACK and left_out(read)


def test_a_stored_ticket_of_any_length_is_suggested_from_a_bounded_text(world: World):
    """A ticket stored before the caps existed can hold megabytes of model text."""
    app = world.app()
    tenant_id = world.db.tenant_id("acme")
    with world.db.transaction(tenant_id) as session:
        row = TicketRow(tenant_id=tenant_id, source="zendesk", external_id="legacy-1", subject="",
                        text="My card is blocked. " + words(300_000), tags=[], custom_fields={}, macros=[],
                        content_hash="")
        session.add(row)
        session.flush()
        ticket_id = row.id
    answer = app.test_client().post(f"/api/v1/tenants/acme/tickets/{ticket_id}/suggestion",
                                    headers=bearer(token_for(app)))
    assert answer.status_code == 200, answer.get_json()
    read = _suggested_text(world)
    assert read.startswith("My card is blocked.") and len(read) <= TICKET_MODEL_CHARS + SLACK and left_out(read)


# -- 3. sentiment: the same scores as VADER, in linear work --------------------------------------------

VADER_WORDS = ("but not good bad never so this without doubt kind of sort very no nor least at the card is great "
               "terrible awful love hate happy :) :( 😁 💘 BAD GOOD ! ? !! sort-of kinda").split()


def test_the_linear_analyzer_scores_exactly_as_vader_does():
    library, linear = vader.SentimentIntensityAnalyzer(), valence.LinearAnalyzer()
    rng = random.Random(7)
    for _ in range(1500):
        text = " ".join(rng.choice(VADER_WORDS) for _ in range(rng.randint(1, 30)))
        assert linear.polarity_scores(text) == library.polarity_scores(text), text


def test_the_but_rule_keeps_the_librarys_quirk():
    """``list.index`` finds the first equal score: a halved 2 equals a later 1, which stays."""
    words_ = ["a", "b", "c", "but", "d"]
    for scores in ([2, 1, 0, 0, 3], [1.0, 0.5, 0.25, 0, 2], [0, 0, 0, 0, 0], [-1, -0.5, 1, 0, -1]):
        expected = vader.SentimentIntensityAnalyzer._but_check(list(words_), list(scores))
        assert valence._but_scaled(words_, list(scores)) == expected


ADVERSARIAL = {
    "one character": "a" * 60_000,
    "no spaces": "cardrefundblocked" * 4_000,
    "punctuation": "!?." * 20_000,
    "sentiment words": "not so bad but never good " * 3_000,
    "nested quotes": ("> " * 30 + "terrible service\n") * 1_000,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_sentiment_rules_read_a_few_words_at_a_time(name, monkeypatch):
    """VADER's per-word rules read three words back and two ahead; they are handed only those, so
    a message of n words costs n bounded steps. The library's quadratic "but" rule is never run."""
    handed: list[int] = []
    for rule in ("_negation_check", "_special_idioms_check"):
        original = getattr(vader.SentimentIntensityAnalyzer, rule)

        def recording(*args, _original=original):
            words_ = next(a for a in args if isinstance(a, list))
            handed.append(len(words_))
            return _original(*args)

        monkeypatch.setattr(vader.SentimentIntensityAnalyzer, rule, staticmethod(recording))

    def refused(*args):
        raise AssertionError("the library's quadratic 'but' rule ran")

    monkeypatch.setattr(vader.SentimentIntensityAnalyzer, "_but_check", staticmethod(refused))
    read: list[int] = []
    original_scores = sentiment.SupportAnalyzer.polarity_scores
    monkeypatch.setattr(sentiment.SupportAnalyzer, "polarity_scores",
                        lambda self, text: read.append(len(text)) or original_scores(self, text))
    sentiment.support_analyzer.cache_clear()
    tone = sentiment.analyze(ADVERSARIAL[name])
    sentiment.support_analyzer.cache_clear()
    assert tone.sentiment in ("frustrated", "neutral", "pleased")
    assert read and max(read) <= MESSAGE_MODEL_CHARS + SLACK  # a message is read to its cap
    assert max(handed, default=0) <= 6


# -- 4. entities: one start per run, the same entities as before ----------------------------------------

OLD_PATTERNS = {  # the backtracking patterns the linear ones replace
    "email": re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    "money": re.compile(r"(?:[$€£¥]\s?\d[\d,]*(?:\.\d{1,2})?|\b\d[\d,]*(?:\.\d{1,2})?\s?"
                        r"(?:USD|EUR|GBP|dollars|euros|pounds)\b)", re.I),
    "order_id": re.compile(rf"\b(?:order|ord)(?:\s*(?:no\.?|number|id))?(?:\s+(?:is|was))?\s*[#:-]?\s*#?"
                           rf"({entities._ID})\b", re.I),
    "ticket_id": re.compile(r"(?:\bticket[\s#:-]*|#)(\d{3,10})\b", re.I),
}
PIECES = {
    "email": ["a@b.co", "x.y+z@mail.example.com", "-", "+", ".", "ab", "1", "_", "@", "a.b", "-a@b.c-", "é", ","],
    "money": list("1,. $x_") + [" USD", "usd", " euros", "€", "USDx"],
    "order_id": list("1A- #:\n") + ["order", "ord", " no.", "number", " is ", "id", "x"],
    "ticket_id": list("1 #:-x") + ["ticket", "123"],
}


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span(1 if pattern.groups and m.group(1) else 0) for m in pattern.finditer(text)]


@pytest.mark.parametrize("kind", sorted(OLD_PATTERNS))
def test_the_linear_patterns_find_what_the_backtracking_ones_found(kind):
    new = dict(entities._PATTERNS)[kind]
    rng = random.Random(11)
    for _ in range(4000):
        if kind == "email":  # addresses apart, as people write them (two glued together now read as one)
            text = " ".join(rng.choice(PIECES[kind]) for _ in range(rng.randint(1, 6)))
        else:
            text = "".join(rng.choice(PIECES[kind]) for _ in range(rng.randint(1, 25)))
        assert _spans(new, text) == _spans(OLD_PATTERNS[kind], text), text


@pytest.mark.parametrize("run", ["a." * 5_000, "a-b+" * 3_000, "x" * 10_000, ".-+a" * 2_000])
def test_an_address_is_tried_once_per_run(run):
    """Where the local part may start, and it is then read possessively to the run's end."""
    text = f"{run} {run}@example.com {run}"
    assert len(re.findall(EMAIL_START + r"\w", text)) == 4  # three runs, and the domain after the @
    pattern = dict(entities._PATTERNS)["email"].pattern
    assert pattern.startswith(EMAIL_START) and "*+@" in pattern  # read to the run's end once, never given back


@pytest.mark.parametrize("run", ["1," * 5_000, "x1,2,3" * 2_000, ",1" * 5_000, "9" * 10_000])
def test_an_amount_is_tried_once_per_run(run):
    text = f"{run} {run} USD"
    assert len(re.findall(AMOUNT_START + r"\d", text)) <= 2 * max(1, run.count("x"))
    assert "|" + AMOUNT_START + r"(\d[\d,]*+" in dict(entities._PATTERNS)["money"].pattern


def test_overlap_checks_keep_the_first_span_as_before():
    rng = random.Random(5)
    for _ in range(300):
        spans = [(s, s + rng.randint(1, 8)) for s in (rng.randint(0, 60) for _ in range(25))]
        kept_before: list[tuple[int, int]] = []
        for s, e in spans:
            if not any(s < end and start < e for start, end in kept_before):
                kept_before.append((s, e))
        taken = entities._Spans()
        assert [span for span in spans if taken.add(*span)] == kept_before


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_entities_and_templates_read_adversarial_text(name):
    text = ADVERSARIAL[name]
    assert find_entities(text) == []
    units = cut(text[:20_000])
    assert "".join(u.text for u in units) == text[:20_000]


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_cleaning_adversarial_text_reads_to_the_cap(name):
    cleaned = clean_message(ADVERSARIAL[name])
    assert len(cleaned) <= MESSAGE_MODEL_CHARS + SLACK
    assert left_out(cleaned) >= len(ADVERSARIAL[name]) - len(cleaned) - SLACK


def test_a_run_of_capitalized_words_is_one_marked_unit():
    """Joined once at the end of the run (joining as it grew copied the run for every word)."""
    text = "Ship it to " + "Calle Mayor " * 1500 + "today."
    units = cut(text)
    assert "".join(u.text for u in units) == text
    assert [u.text for u in units if u.kind == "marked"] == ["Ship", " ".join(["Calle Mayor"] * 1500)]


def test_the_limits_module_is_the_one_place_the_caps_live():
    names = {"MESSAGE_RAW_CHARS", "TICKET_RAW_CHARS", "MESSAGE_MODEL_CHARS", "SUBJECT_MODEL_CHARS",
             "TICKET_MODEL_CHARS"}
    assert names <= set(vars(limits))
    assert marker(5) == "[... truncated 5 characters]"
