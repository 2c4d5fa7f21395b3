"""Steps read from support replies, the other names replies give things, and the page element a
step names (``core.guidance``): many phrasings, replies without steps, and hostile text."""

from __future__ import annotations

import time

import pytest

from core.guidance.aliases import extract_aliases, names_for
from core.guidance.matching import THRESHOLD, best_element, candidates, names_any, score
from core.guidance.steps import MAX_STEP_CHARS, MAX_STEPS, extract_steps
from core.types import PageElement


@pytest.mark.parametrize(("reply", "steps"), [
    ("Settings > Export > Export data", ["Settings", "Export", "Export data"]),
    ("Hi Ada, go to Settings > Export > Export data and pick CSV.", ["Settings", "Export", "Export data", "CSV"]),
    ("You can track delivery under Cards > Track.", ["Cards", "Track"]),
    ("Settings → Billing → Invoices", ["Settings", "Billing", "Invoices"]),
    ("Open Account » Privacy", ["Account", "Privacy"]),
    ("Go to Reports and click Download", ["Reports", "Download"]),
    ("click Reports, then Download", ["Reports", "Download"]),
    ("Click Reports and then Download.", ["Reports", "Download"]),
    ("1. Open Settings 2. Click Export", ["Settings", "Export"]),
    ("1) Open Settings\n2) Click the Billing tab\n3) Press Save", ["Settings", "Billing", "Save"]),
    ("- Open Settings\n- Select Notifications\n- Switch off Weekly digest", ["Settings", "Notifications"]),
    ("Go to the Settings page and open the Billing tab, then hit Save changes.",
     ["Settings", "Billing", "Save changes"]),
    ("Open the report and click Export in the top right, then choose CSV.", ["Export", "CSV"]),
    ("Go to Settings > Account > Privacy and click Download my data.",
     ["Settings", "Account", "Privacy", "Download my data"]),
    ('Under Account > Data export, press "Download"', ["Account", "Data export", "Download"]),
    ("Open Preferences (the gear icon), then click “Export data”.", ["Preferences", "Export data"]),
    ("navigate to Team, tap on Invite members", ["Team", "Invite members"]),
])
def test_steps_are_read_in_order_from_many_phrasings(reply, steps):
    assert extract_steps(reply) == steps


@pytest.mark.parametrize("reply", [
    "",
    None,
    "Hi Ada, refunds take 3 to 5 working days to appear once the merchant sends them.",
    "Hi Ada, use Forgot password on the login screen; the link is valid for one hour.",
    "Please open a ticket and go to bed.",
    "Click the member's row to see more.",
    "Thanks, we fixed it on our side: 3 > 2 as expected.",
])
def test_a_reply_without_steps_has_none(reply):
    assert extract_steps(reply) == []


@pytest.mark.parametrize("hostile", [
    "> " * 500_000,
    "click " * 200_000,
    "Click Save " * 200_000,
    ("x" * 59 + " > ") * 50_000,
    "A" * 1_000_000,
    "then " * 300_000,
    "Settings (also called " * 100_000,
    "Open " + "Abcdefghij " * 100_000,
])
def test_hostile_replies_are_read_in_bounded_time_with_capped_steps(hostile):
    started = time.perf_counter()
    steps = extract_steps(hostile)
    aliases = extract_aliases(hostile)
    assert time.perf_counter() - started < 1.0
    assert len(steps) <= MAX_STEPS and all(0 < len(s) <= MAX_STEP_CHARS for s in steps)
    assert len(aliases) <= 20


def test_many_steps_are_capped():
    steps = extract_steps(" > ".join(f"Menu{i}" for i in range(50)))
    assert steps == [f"Menu{i}" for i in range(MAX_STEPS)]


@pytest.mark.parametrize(("reply", "pairs"), [
    ("Open Preferences (the gear icon), then click Export.", [("Preferences", "gear")]),
    ("Go to Settings, also called Preferences in older versions", [("Settings", "Preferences")]),
    ("Click Export (or Download)", [("Export", "Download")]),
    ("Open Billing (also known as Invoices)", [("Billing", "Invoices")]),
    ("Settings, the page where you manage things", []),
    ("Hi Ada, go to Settings > Export.", []),
])
def test_replies_name_things_twice(reply, pairs):
    assert extract_aliases(reply) == pairs


def test_a_steps_names_come_from_pairs_either_way_round():
    pairs = [("Settings", "Preferences"), ("Gear", "Settings"), ("Export", "Download")]
    assert names_for("settings", pairs) == ["settings", "Preferences", "Gear"]
    assert names_for("Download", pairs) == ["Download", "Export"]
    assert names_for("Billing", pairs) == ["Billing"]


PAGE = [PageElement(role="link", text="Dashboard", selector="#nav-dashboard"),
        PageElement(role="heading", text="Export options", selector="h2"),
        PageElement(role="button", text="Export CSV", selector="#export"),
        PageElement(role="button", label="Refresh chart", selector="button[aria-label=\"Refresh chart\"]"),
        PageElement(role="link", text="Billing", label="Billing settings", selector="a.billing"),
        PageElement(role="button", label="Preferences", text="⚙", selector="#prefs"),
        PageElement(role="textbox", label="Search", selector="#search")]


@pytest.mark.parametrize(("names", "selector"), [
    (["Dashboard"], "#nav-dashboard"),
    (["dashboard!"], "#nav-dashboard"),
    (["Export"], "#export"),  # the button, not the heading as close to the name
    (["Export CSV file"], "#export"),
    (["Refresh"], "button[aria-label=\"Refresh chart\"]"),
    (["Billing settings"], "a.billing"),
    (["Dashbord"], "#nav-dashboard"),  # a typo
    (["Settings", "Preferences"], "#prefs"),  # found under the reply's other name
    (["Invoices"], None),
    (["Delete account"], None),
])
def test_a_step_finds_its_element_by_text_label_and_other_names(names, selector):
    found = best_element(names, PAGE)
    assert (found.selector if found else None) == selector


def test_a_name_is_trusted_over_another_name_and_fuzzy_is_optional():
    assert score(["Billing"], PAGE[4]) == 1.0
    assert score(["Invoices", "Billing"], PAGE[4]) < 1.0
    assert best_element(["Dashbord"], PAGE, fuzzy=False) is None
    assert score(["Unrelated words"], PAGE[2]) < THRESHOLD


def test_another_page_is_searched_by_words_only_and_stops_at_the_first_match():
    among = candidates(PAGE)
    assert names_any(["Billing settings"], among) and names_any(["Invoices", "Refresh"], among)
    assert not names_any(["Dashbord"], among) and not names_any(["Invoices"], among)
    many = candidates([PageElement(text=f"Button number {i} here") for i in range(200)])
    started = time.perf_counter()
    for _ in range(100):  # 10 routes x 10 steps, every word shared and no match: about 0.2 s
        names_any(["Button zzz qqq", "Label yyy"], many)
    assert time.perf_counter() - started < 2.0
