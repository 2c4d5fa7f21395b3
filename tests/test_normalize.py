"""Message cleaning: what a model reads must be the customer's new words, and nothing of them lost."""

import pytest

from core.text.normalize import clean_message, clean_subject, text_for_model

GMAIL_REPLY = """Hi, my card still hasn't arrived.

Can you check?

On Mon, Jan 5, 2026 at 10:02 AM Support Team <support@bank.example> wrote:
> Hi Ada, cards take 5 working days.
> Thanks"""

OUTLOOK_REPLY = """The refund is still missing.

Best regards,
Ada Lovelace
Head of Finance
Analytical Engines Ltd

-----Original Message-----
From: Support <support@bank.example>
Sent: Monday, January 5, 2026 10:02 AM
To: Ada <ada@example.com>
Subject: RE: refund

Hi Ada, refunds take 3 days."""

OUTLOOK_HEADER_ONLY = """Still broken after the update.

________________________________
From: Support <support@bank.example>
Sent: Monday, January 5, 2026 10:02 AM
To: Ada <ada@example.com>
Subject: RE: app crash

Hi Ada, please update the app."""


@pytest.mark.parametrize(("raw", "expected"), [
    (GMAIL_REPLY, "Hi, my card still hasn't arrived.\n\nCan you check?"),
    (OUTLOOK_REPLY, "The refund is still missing."),
    (OUTLOOK_HEADER_ONLY, "Still broken after the update."),
    ("Meine Karte ist nicht angekommen.\n\nAm 05.01.2026 um 10:02 schrieb Support <s@bank.example>:\n> Hallo",
     "Meine Karte ist nicht angekommen."),
    ("> Did you try restarting?\nYes, and it still crashes.", "Yes, and it still crashes."),
], ids=["gmail", "outlook-original-message", "outlook-from-sent", "german", "inline-quote"])
def test_quoted_earlier_mail_is_removed(raw, expected):
    assert clean_message(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Please cancel my order #1234\n\nSent from my iPhone", "Please cancel my order #1234"),
    ("I can't log in since yesterday.\n\n-- \nGrace Hopper\nRear Admiral", "I can't log in since yesterday."),
    ("Where is my refund? It's been two weeks.\n\nThanks,\nAda", "Where is my refund? It's been two weeks."),
    ("My card is blocked.\n\nKind regards,\nAda Lovelace\nHead of Finance\nAnalytical Engines Ltd\n+44 20 7946 0000",
     "My card is blocked."),
], ids=["iphone", "dash-dash", "thanks-name", "regards-block"])
def test_signatures_are_removed(raw, expected):
    assert clean_message(raw) == expected


@pytest.mark.parametrize("raw", [
    "From: the app, I tried to pay and it said:\nError 42. What does it mean?",
    "Thanks, that worked for the first card.\nBut the second card is still blocked. Can you unblock it too?",
    "- first: my card is blocked\n- second: the app crashes",
    "Hi,\nBest regards are sent to the team but my card is blocked",
    "Please check this invoice:\nDate: 2026-01-05\nTo: ACME Ltd\nAmount: 20 EUR\nWhy was I charged twice?",
    "Can you help?\n\nThanks,\nAda\nWhat about my second card, is it blocked too?",
], ids=["starts-with-from", "thanks-first", "hyphen-list", "regards-in-sentence", "pasted-invoice",
        "question-after-thanks"])
def test_real_content_is_never_cut(raw):
    assert clean_message(raw) == raw


def test_a_message_that_is_only_a_quote_is_kept():
    forwarded = "On Mon, Jan 5, 2026 at 10:02 AM Ada <ada@example.com> wrote:\n> my card is blocked"
    assert "my card is blocked" in clean_message(forwarded)


def test_html_keeps_paragraphs_and_drops_scripts_styles_and_gmail_quotes():
    raw = ("<html><head><style>p{color:red}</style><title>x</title></head><body>"
           "<p>Hello,</p><p>My <b>card</b> is\n   blocked.<br>Order&nbsp;#12 &amp; #13</p>"
           "<ul><li>first</li><li>second</li></ul><script>track()</script>"
           "<div class='gmail_quote'>On Mon, Support wrote:<blockquote>old reply</blockquote></div></body></html>")
    assert clean_message(raw) == "Hello,\n\nMy card is blocked.\nOrder #12 & #13\n\n- first\n- second"


def test_outlook_web_reply_marker_cuts_the_quoted_mail():
    raw = "<div>Still broken</div><hr><div id='divRplyFwdMsg'><b>From:</b> Support</div><div>old stuff</div>"
    assert clean_message(raw) == "Still broken"


def test_text_that_merely_mentions_tags_is_not_parsed_as_html():
    assert clean_message("is 3 < 5 and 7 > 2?") == "is 3 < 5 and 7 > 2?"


def test_unicode_is_repaired_and_nfkc_normalized():
    assert clean_message("CafÃ© payment failed") == "Café payment failed"
    assert clean_message("ｃａｒｄ １２３４ blocked\u00a0now") == "card 1234 blocked now"


def test_whitespace_is_normalized():
    assert clean_message("  my   card\t is\r\n\r\n\r\n\r\nblocked  ") == "my card is\n\nblocked"
    assert clean_message("") == ""


def test_subject_loses_reply_prefixes():
    assert clean_subject("Re: Fwd: RE:  Card not arrived") == "Card not arrived"


def test_a_subject_that_repeats_the_message_is_read_once():
    # A web form's subject is the message's opening words: read twice, they would weigh double.
    assert text_for_model("Why is my card", ["Why is my card declined?"]) == "Why is my card declined?"
    assert text_for_model("Card not arrived", ["My new card still hasn't arrived."]) == \
        "Card not arrived\nMy new card still hasn't arrived."
    assert text_for_model("Refund", []) == "Refund"
    assert text_for_model("", ["a", "b"]) == "a\nb"


@pytest.mark.parametrize(("body", "read"), [
    ("Hi,\n\nMy card never came.", "My card never came."),
    ("Hello team!\nWhere is my refund?", "Where is my refund?"),
    ("Dear Support Team,\nI was charged twice.", "I was charged twice."),
    ("Good morning\nThe app crashes.", "The app crashes."),
    ("Hi there\nI lost my card.", "I lost my card."),
    ("Hey my card is broken\nplease help", "Hey my card is broken\nplease help"),  # a question, not a greeting
    ("Hello, I need help with\nmy card", "Hello, I need help with\nmy card"),
    ("Hi,", "Hi,"),  # nothing follows: kept
    ("Hiring question\nDo you sponsor visas?", "Hiring question\nDo you sponsor visas?"),
])
def test_models_read_a_message_without_its_opening_greeting(body, read):
    assert text_for_model("", [body]) == read
