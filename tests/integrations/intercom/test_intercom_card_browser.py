"""The Intercom inbox card as a teammate sees it, for the README and the CI artifacts.

Intercom draws Canvas Kit cards itself, in its own style; there is no way to run its inbox here.
This test takes the card the real ``/apps/intercom/initialize`` answers and draws its components
with a plain preview of the documented component types (text styles, textarea, buttons, list), in
a 320-pixel column in Chromium, then checks what a teammate needs is on it.
"""

from __future__ import annotations

import html
import re

import pytest

from tests.browser_support import ARTIFACTS, expect, screenshot
from tests.integrations.intercom.test_intercom_inbox_app import KNOWN, inbox  # noqa: F401

pytestmark = pytest.mark.browser

PREVIEW_STYLE = """
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: #1a1a1a; background: #f5f5f5; }
.card { box-sizing: border-box; width: 320px; margin: 8px; padding: 12px 14px; background: #fff;
        border: 1px solid #e3e3e3; border-radius: 8px; }
h3 { margin: 0 0 8px; font-size: 15px; } p { margin: 0 0 8px; } .muted { color: #737376; } .error { color: #c2281b; }
label { display: block; margin: 4px 0; font-weight: 600; font-size: 13px; }
textarea { box-sizing: border-box; width: 100%; min-height: 110px; font: inherit; padding: 6px;
           border: 1px solid #d0d0d0; border-radius: 6px; }
button { display: block; width: 100%; margin: 8px 0 0; padding: 7px; border-radius: 6px; font: inherit;
         border: 1px solid #d0d0d0; background: #fff; }
button.primary { background: #1f73b7; border-color: #1f73b7; color: #fff; }
button.link { border: 0; background: none; color: #1f73b7; text-decoration: underline; }
ul { margin: 0 0 8px; padding: 0; list-style: none; } li { padding: 4px 0; border-bottom: 1px solid #eee; }
li small { display: block; color: #737376; } hr { border: 0; border-top: 1px solid #eee; margin: 10px 0; }
"""


def _inline(text: str) -> str:
    """Canvas Kit text allows Markdown bold and links; the preview draws bold."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))


def preview(canvas: dict) -> str:
    parts = []
    for c in canvas["content"]["components"]:
        kind = c["type"]
        if kind == "text":
            tag = "h3" if c["style"] == "header" else "p"
            parts.append(f'<{tag} class="{c["style"]}" data-type="text">{_inline(c["text"])}</{tag}>')
        elif kind == "textarea":
            parts.append(f'<label for="{c["id"]}">{html.escape(c.get("label", ""))}</label>'
                         f'<textarea id="{c["id"]}" data-type="textarea">{html.escape(c.get("value", ""))}</textarea>')
        elif kind == "button":
            parts.append(f'<button class="{c["style"]}" data-type="button" data-id="{c["id"]}">'
                         f'{html.escape(c["label"])}</button>')
        elif kind == "list":
            items = "".join(f'<li>{html.escape(i["title"])}<small>{html.escape(i.get("subtitle", ""))}</small></li>'
                            for i in c["items"])
            parts.append(f'<ul data-type="list">{items}</ul>')
        elif kind == "divider":
            parts.append("<hr>")
        elif kind == "spacer":
            parts.append('<div style="height:8px"></div>')
    return f"<style>{PREVIEW_STYLE}</style><div class='card'>{''.join(parts)}</div>"


def test_the_inbox_card_shows_intent_tags_and_an_editable_draft(page, inbox):  # noqa: F811
    card = inbox.initialize(KNOWN)
    page.set_viewport_size({"width": 340, "height": 700})
    page.set_content(preview(card))
    expect(page.locator("h3").first).to_contain_text("Card arrival")
    expect(page.locator("textarea")).to_have_value(re.compile("5 working days"))
    expect(page.locator('[data-id="send_reply"]')).to_have_text("Send as reply")
    expect(page.locator('[data-id="add_note"]')).to_be_visible()
    expect(page.locator('[data-id="apply_tags"]')).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    screenshot(page, "intercom-inbox-card.png")
    page.locator(".card").screenshot(path=str(ARTIFACTS / "intercom-inbox-card-panel.png"))
