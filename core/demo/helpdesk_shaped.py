"""A seeded helpdesk history shaped like a real Zendesk account: no intent, only how the team sorts.

:mod:`core.demo.simulate` writes tickets that carry their intent, as a labelled dataset would. A real
account has none: what it has is a category dropdown some agents fill and some misuse, tags (a
product area, a finer tag the agent may forget or spell their own way, and tags that triggers add to
every ticket of a channel), the ticket type, the group, the form and the macro the agent applied.
This module writes such an account from the same seeded pieces (Banking77 wording, requesters,
organizations, rhythm, the reply per intent, reopens, CSAT), so label discovery (:mod:`core.labelling.sources`)
can be tested and benchmarked against the truth it never sees.

The truth, the Banking77 intent each ticket was written from, is kept out of the ticket:
:func:`generate_helpdesk_history` returns it beside the tickets, and :func:`write_helpdesk_history`
writes it to a sidecar CSV (``external_id,intent``; ``history.jsonl`` gets ``history.truth.csv``).

What a label source finds here, by design:

- ``field:360012345`` (:data:`CATEGORY_FIELD`, "Category"): 57 values, most one per intent under a
  readable name, a few merging two or three intents; set on about 60% of tickets. Two agents pick a
  wrong value of the same product area 15-20% of the time, one still uses old names for 8 values.
- ``field:360012346`` ("Plan"): free/pro/business, an attribute of the organization, on every
  ticket and independent of what the customer wrote: complete but useless.
- ``field:360012347`` ("Region"): ``eu`` everywhere: one value, nothing to learn.
- tags: one of 10 product-area tags (95% of handled tickets), a fine tag near the intent on about
  75% of handled tickets (one agent writes underscores, one prefers synonyms), the channel's
  automation tag on every ticket of that channel, the SLA policy tag on every ticket and ``vip`` on
  every ticket from the two largest organizations. Real Zendesk also adds a dropdown's value as a
  tag; that echo is left out so the category stays one source.
- ``type``: question/incident/problem/task, weakly related to the intent (and unset on some).
- ``group``: the area's team, or Tier 1 for a quarter of tickets and every unassigned one.
- ``macro``: on about half the solved tickets, named after the intent's reply; two agents never
  use macros.
- ``form``: "Default ticket form", or "Card problem" on most web tickets about cards and cash.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from core.demo.simulate import HistorySimulator, Query
from core.types import Ticket

CATEGORY_FIELD = "360012345"
PLAN_FIELD = "360012346"
REGION_FIELD = "360012347"
#: The custom fields as Zendesk's ticket field API names them (ids are what tickets carry).
FIELD_NAMES = {CATEGORY_FIELD: "Category", PLAN_FIELD: "Plan", REGION_FIELD: "Region"}

#: Product area of every Banking77 intent; the area name is also its tag.
AREAS: dict[str, tuple[str, ...]] = {
    "cards": (
        "activate_my_card", "card_about_to_expire", "card_arrival", "card_delivery_estimate", "card_linking",
        "card_not_working", "contactless_not_working", "virtual_card_not_working", "get_physical_card",
        "change_pin", "pin_blocked", "getting_spare_card", "order_physical_card", "visa_or_mastercard",
        "card_acceptance", "apple_pay_or_google_pay", "getting_virtual_card", "get_disposable_virtual_card",
        "disposable_card_limits",
    ),
    "payments": (
        "card_payment_fee_charged", "card_payment_not_recognised", "direct_debit_payment_not_recognised",
        "declined_card_payment", "pending_card_payment", "reverted_card_payment?", "transaction_charged_twice",
        "extra_charge_on_statement",
    ),
    "transfers": (
        "balance_not_updated_after_bank_transfer", "beneficiary_not_allowed", "cancel_transfer",
        "declined_transfer", "failed_transfer", "pending_transfer", "transfer_timing", "receiving_money",
        "transfer_into_account", "transfer_fee_charged", "transfer_not_received_by_recipient",
    ),
    "top_up": (
        "automatic_top_up", "balance_not_updated_after_cheque_or_cash_deposit", "pending_top_up",
        "supported_cards_and_currencies", "top_up_by_bank_transfer_charge", "top_up_by_card_charge",
        "top_up_by_cash_or_cheque", "topping_up_by_card", "top_up_failed", "top_up_reverted", "top_up_limits",
        "verify_top_up",
    ),
    "exchange": (
        "card_payment_wrong_exchange_rate", "wrong_exchange_rate_for_cash_withdrawal", "exchange_rate",
        "exchange_charge", "exchange_via_app", "fiat_currency_support",
    ),
    "cash": (
        "atm_support", "card_swallowed", "cash_withdrawal_charge", "cash_withdrawal_not_recognised",
        "declined_cash_withdrawal", "pending_cash_withdrawal", "wrong_amount_of_cash_received",
    ),
    "identity": ("verify_my_identity", "why_verify_identity", "unable_to_verify_identity", "verify_source_of_funds"),
    "account": ("age_limit", "country_support", "edit_personal_details", "passcode_forgotten", "terminate_account"),
    "security": ("lost_or_stolen_card", "compromised_card", "lost_or_stolen_phone"),
    "refunds": ("Refund_not_showing_up", "request_refund"),
}
AREA_TITLES = {"cards": "Cards", "payments": "Payments", "transfers": "Transfers", "top_up": "Top-up",
               "exchange": "Exchange", "cash": "Cash", "identity": "Identity", "account": "Account",
               "security": "Security", "refunds": "Refunds"}
AREA_GROUPS = {"cards": "Cards team", "cash": "Cards team", "security": "Trust & safety", "identity": "Compliance",
               "account": "Tier 1", "payments": "Payments team", "transfers": "Payments team",
               "top_up": "Payments team", "exchange": "Payments team", "refunds": "Payments team"}
FIRST_LINE_GROUP = "Tier 1"

#: The category dropdown's values and the intents each stands for (all within one product area).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "card_activation": ("activate_my_card",),
    "card_expiring": ("card_about_to_expire",),
    "card_not_arrived": ("card_arrival",),
    "card_delivery_time": ("card_delivery_estimate",),
    "card_linking": ("card_linking",),
    "card_not_working": ("card_not_working", "contactless_not_working", "virtual_card_not_working"),
    "pin_issue": ("get_physical_card", "change_pin", "pin_blocked"),
    "card_order": ("getting_spare_card", "order_physical_card"),
    "card_acceptance": ("card_acceptance", "visa_or_mastercard"),
    "mobile_wallet": ("apple_pay_or_google_pay",),
    "virtual_card": ("getting_virtual_card", "get_disposable_virtual_card"),
    "disposable_card_limits": ("disposable_card_limits",),
    "card_payment_fee": ("card_payment_fee_charged",),
    "payment_not_recognised": ("card_payment_not_recognised", "direct_debit_payment_not_recognised"),
    "card_declined": ("declined_card_payment",),
    "payment_pending": ("pending_card_payment",),
    "payment_reverted": ("reverted_card_payment?",),
    "charged_twice": ("transaction_charged_twice",),
    "unexpected_charge": ("extra_charge_on_statement",),
    "transfer_balance_not_updated": ("balance_not_updated_after_bank_transfer",),
    "beneficiary_not_allowed": ("beneficiary_not_allowed",),
    "cancel_transfer": ("cancel_transfer",),
    "transfer_failed": ("declined_transfer", "failed_transfer"),
    "transfer_pending": ("pending_transfer", "transfer_timing"),
    "receiving_money": ("receiving_money", "transfer_into_account"),
    "transfer_fee": ("transfer_fee_charged",),
    "transfer_not_received": ("transfer_not_received_by_recipient",),
    "auto_top_up": ("automatic_top_up",),
    "deposit_not_showing": ("balance_not_updated_after_cheque_or_cash_deposit",),
    "top_up_pending": ("pending_top_up",),
    "top_up_fee": ("top_up_by_bank_transfer_charge", "top_up_by_card_charge"),
    "top_up_methods": ("top_up_by_cash_or_cheque", "topping_up_by_card", "supported_cards_and_currencies"),
    "top_up_failed": ("top_up_failed", "top_up_reverted"),
    "top_up_limits": ("top_up_limits",),
    "top_up_verification": ("verify_top_up",),
    "wrong_exchange_rate": ("card_payment_wrong_exchange_rate", "wrong_exchange_rate_for_cash_withdrawal"),
    "exchange_rate_and_fees": ("exchange_rate", "exchange_charge"),
    "exchange_in_app": ("exchange_via_app",),
    "currencies_supported": ("fiat_currency_support",),
    "atm_locations": ("atm_support",),
    "card_kept_by_atm": ("card_swallowed",),
    "atm_fee": ("cash_withdrawal_charge",),
    "withdrawal_not_recognised": ("cash_withdrawal_not_recognised",),
    "withdrawal_declined": ("declined_cash_withdrawal",),
    "withdrawal_pending": ("pending_cash_withdrawal",),
    "wrong_cash_amount": ("wrong_amount_of_cash_received",),
    "identity_verification": ("verify_my_identity", "why_verify_identity"),
    "identity_check_failed": ("unable_to_verify_identity",),
    "source_of_funds": ("verify_source_of_funds",),
    "eligibility": ("age_limit", "country_support"),
    "personal_details": ("edit_personal_details",),
    "passcode_forgotten": ("passcode_forgotten",),
    "close_account": ("terminate_account",),
    "card_lost_or_compromised": ("lost_or_stolen_card", "compromised_card"),
    "phone_lost": ("lost_or_stolen_phone",),
    "refund_not_received": ("Refund_not_showing_up",),
    "refund_request": ("request_refund",),
}
#: Values renamed in the dropdown that one agent still picks under the old name.
OLD_CATEGORY_NAMES = {
    "card_not_arrived": "card_delivery_issue", "transfer_failed": "transfer_problem", "top_up_failed": "topup_failed",
    "identity_verification": "kyc_check", "unexpected_charge": "fee_query", "card_lost_or_compromised": "lost_card",
    "refund_not_received": "refund_missing", "payment_pending": "pending_payment",
}

#: Fine tags where the intent's own name would not be what a team types; the rest are the intent in
#: kebab case (``card_arrival`` -> ``card-arrival``).
FINE_TAGS = {
    "balance_not_updated_after_bank_transfer": "transfer-balance",
    "balance_not_updated_after_cheque_or_cash_deposit": "deposit-missing",
    "transfer_not_received_by_recipient": "transfer-not-received",
    "wrong_exchange_rate_for_cash_withdrawal": "atm-exchange-rate",
    "card_payment_wrong_exchange_rate": "card-exchange-rate",
    "direct_debit_payment_not_recognised": "unknown-direct-debit",
    "card_payment_not_recognised": "unknown-card-payment",
    "cash_withdrawal_not_recognised": "unknown-withdrawal",
    "top_up_by_bank_transfer_charge": "top-up-fee-bank",
    "top_up_by_card_charge": "top-up-fee-card",
    "Refund_not_showing_up": "refund-missing",
    "reverted_card_payment?": "reverted-payment",
    "supported_cards_and_currencies": "top-up-cards",
    "apple_pay_or_google_pay": "mobile-wallet",
    "get_physical_card": "find-pin",
}
#: What the synonym-prone agent tags instead (several intents may share one).
TAG_SYNONYMS = {
    "card_arrival": "card_delivery", "card_delivery_estimate": "delivery-time", "lost_or_stolen_card": "stolen-card",
    "compromised_card": "fraud", "card_payment_not_recognised": "fraud", "declined_card_payment": "card-declined",
    "transaction_charged_twice": "double-charge", "request_refund": "refund", "Refund_not_showing_up": "refund",
    "exchange_rate": "fx-rate", "exchange_charge": "fx-fee", "passcode_forgotten": "login",
    "terminate_account": "close-account", "verify_my_identity": "kyc", "unable_to_verify_identity": "kyc-failed",
    "top_up_failed": "topup-failed", "atm_support": "atm",
}

#: Tags a trigger adds to every ticket arriving by that channel, and one on every ticket.
CHANNEL_TAGS = {"email": "email_in", "web": "web_widget", "chat": "zopim_chat"}
SLA_TAG = "zd_sla_policy"
VIP_TAG = "vip"
VIP_ORGANIZATIONS = 2

PLANS = ("free", "pro", "business")
PLAN_WEIGHTS = (0.5, 0.35, 0.15)
REGION = "eu"

DEFAULT_FORM, CARD_FORM = "Default ticket form", "Card problem"
CARD_FORM_AREAS = frozenset({"cards", "cash", "security"})
CARD_FORM_RATE = 0.7  # web customers writing about a card who pick the card form

TICKET_TYPES = ("question", "incident", "problem", "task")
#: Intents that read as something broken get mostly ``incident``; the rest mostly ``question``.
_BROKEN = re.compile(r"not_working|failed|declined|not_recognised|lost|compromised|swallowed|wrong|twice|pending"
                     r"|reverted|blocked|not_received|not_updated|not_showing|unable|forgotten|arrival|extra_charge")
_TYPE_WEIGHTS = {True: (0.3, 0.5, 0.12, 0.08), False: (0.6, 0.2, 0.05, 0.15)}
UNTYPED_SHARE = 0.15

ESCALATION_MACRO = "Escalation: specialist team"
#: Zendesk's default automation closes a solved ticket after four days.
CLOSE_AFTER = timedelta(days=4)


@dataclass(frozen=True)
class AgentHabits:
    """How one agent fills in a ticket (the simulator's agents are ``core.demo.simulate.AGENTS``)."""

    category_rate: float  # sets the category dropdown
    macro_rate: float  # applies the intent's macro (0: never uses macros)
    fine_tag_rate: float  # adds the fine tag
    wrong_neighbour: float = 0.0  # picks another category of the same area instead
    old_names: bool = False  # picks the pre-rename value where one exists
    tag_style: str = "canonical"  # or "underscore" (card_arrival) or "synonym" (TAG_SYNONYMS, 70% of the time)


AGENT_HABITS = {
    "Sam": AgentHabits(category_rate=0.75, macro_rate=0.8, fine_tag_rate=0.85),
    "Alex": AgentHabits(category_rate=0.65, macro_rate=0.75, fine_tag_rate=0.75, wrong_neighbour=0.18),
    "Jordan": AgentHabits(category_rate=0.65, macro_rate=0.0, fine_tag_rate=0.8, tag_style="underscore"),
    "Robin": AgentHabits(category_rate=0.6, macro_rate=0.7, fine_tag_rate=0.7, old_names=True),
    "Casey": AgentHabits(category_rate=0.65, macro_rate=0.75, fine_tag_rate=0.75, wrong_neighbour=0.16,
                         tag_style="synonym"),
    "Morgan": AgentHabits(category_rate=0.55, macro_rate=0.0, fine_tag_rate=0.65),
}
#: A customer picks a category on the web form only when nobody has handled the ticket yet.
WEB_FORM_CATEGORY_RATE = 0.5
AREA_TAG_RATE = 0.95
FIRST_LINE_SHARE = 0.25

AREA_OF = {intent: area for area, intents in AREAS.items() for intent in intents}
CATEGORY_OF = {intent: value for value, intents in CATEGORIES.items() for intent in intents}
_AREA_CATEGORIES = {area: sorted({CATEGORY_OF[i] for i in intents}) for area, intents in AREAS.items()}


def fine_tag(intent: str) -> str:
    """The tag a tidy agent puts on a ticket of ``intent``."""
    return FINE_TAGS.get(intent) or intent.lower().rstrip("?").replace("_", "-")


def truth_path_for(path: str | Path) -> Path:
    """Where :func:`write_helpdesk_history` puts the truth for ``path``: ``x.jsonl`` -> ``x.truth.csv``."""
    return Path(path).with_suffix(".truth.csv")


class HelpdeskShapedSimulator(HistorySimulator):
    """The labelled simulator's tickets, re-dressed as a Zendesk account that has no intent field."""

    def __init__(self, seed: int = 7, weeks: int = 8, end: date | None = None, source: str = "zendesk") -> None:
        super().__init__(seed=seed, weeks=weeks, end=end)
        self.source = source
        self.plans = {name: self.random.choices(PLANS, PLAN_WEIGHTS)[0] for name, _, _ in self.organizations}
        self.vip = {name for name, _, _ in self.organizations[:VIP_ORGANIZATIONS]}

    def ticket(self, number: int, query: Query, created: datetime, newest: datetime) -> dict[str, Any]:
        ticket = super().ticket(number, query, created, newest)
        rnd, intent = self.random, query.intent
        area = AREA_OF[intent]
        ticket.pop("intent")
        ticket.pop("page_context", None)  # Zendesk has no page context; the demo's URL names the intent
        ticket["source"] = self.source
        ticket["external_id"] = str(100000 + number)
        if ticket["channel"] == "chat":
            ticket["subject"] = f"Chat with {ticket['requester']['name']}"
        if "csat" in ticket:  # Zendesk rates good or bad
            ticket["csat"]["score"] = 5 if ticket["csat"]["score"] >= 4 else 1
        agents = [m["author_name"] for m in ticket["messages"] if m["author_role"] == "agent"]
        habits = AGENT_HABITS[agents[0]] if agents else None
        if ticket["status"] == "new":  # nobody has answered: open or new in Zendesk, no agent reply
            ticket["status"] = rnd.choice(("new", "open"))
        elif ticket["status"] == "open":  # answered and waiting for the customer
            ticket["status"] = "pending"
        elif ticket["status"] == "solved" and newest - datetime.fromisoformat(ticket["solved_at"]) > CLOSE_AFTER:
            ticket["status"] = "closed"

        tags = [CHANNEL_TAGS[ticket["channel"]], SLA_TAG]
        if ticket["organization"] in self.vip:
            tags.append(VIP_TAG)
        if habits:
            if rnd.random() < AREA_TAG_RATE:
                tags.append(area)
            if rnd.random() < habits.fine_tag_rate:
                tags.append(self._fine_tag(intent, habits))
        ticket["tags"] = sorted(set(tags))

        on_card_form = ticket["channel"] == "web" and area in CARD_FORM_AREAS and rnd.random() < CARD_FORM_RATE
        ticket["form"] = CARD_FORM if on_card_form else DEFAULT_FORM
        category = self._category(intent, area, habits, ticket["channel"])
        fields = {CATEGORY_FIELD: category} if category else {}
        ticket["custom_fields"] = {**fields, PLAN_FIELD: self.plans[ticket["organization"]], REGION_FIELD: REGION}
        if rnd.random() >= UNTYPED_SHARE:
            ticket["ticket_type"] = rnd.choices(TICKET_TYPES, _TYPE_WEIGHTS[bool(_BROKEN.search(intent))])[0]
        ticket["group"] = FIRST_LINE_GROUP if not habits or rnd.random() < FIRST_LINE_SHARE else AREA_GROUPS[area]
        if habits and rnd.random() < habits.macro_rate:
            ticket["macros"] = [self.macro_name(intent)]
            if ticket.get("reopen_count"):
                ticket["macros"].append(ESCALATION_MACRO)
        return ticket

    def macro_name(self, intent: str) -> str:
        """The macro holding the intent's reply, as a team names it: ``Cards: card arrival``."""
        title = self.replies[intent]["title"]
        return f"{AREA_TITLES[AREA_OF[intent]]}: {title if title[:2].isupper() else title[0].lower() + title[1:]}"

    def _fine_tag(self, intent: str, habits: AgentHabits) -> str:
        if habits.tag_style == "underscore":
            return fine_tag(intent).replace("-", "_")
        if habits.tag_style == "synonym" and intent in TAG_SYNONYMS and self.random.random() < 0.7:
            return TAG_SYNONYMS[intent]
        return fine_tag(intent)

    def _category(self, intent: str, area: str, habits: AgentHabits | None, channel: str) -> str | None:
        rnd = self.random
        value = CATEGORY_OF[intent]
        if habits is None:
            return value if channel == "web" and rnd.random() < WEB_FORM_CATEGORY_RATE else None
        if rnd.random() >= habits.category_rate:
            return None
        neighbours = [v for v in _AREA_CATEGORIES[area] if v != value]
        if neighbours and rnd.random() < habits.wrong_neighbour:
            value = rnd.choice(neighbours)
        if habits.old_names:
            value = OLD_CATEGORY_NAMES.get(value, value)
        return value

    def labelled(self, count: int | None = None) -> tuple[list[Ticket], list[str]]:
        """The tickets in creation order and, position by position, the intent each was written from."""
        tickets, intents = [], []
        for number, query, created, newest in self.planned(count):
            tickets.append(Ticket.model_validate(self.ticket(number, query, created, newest)))
            intents.append(query.intent)
        return tickets, intents


def generate_helpdesk_history(count: int | None = None, seed: int = 7, weeks: int = 8, end: date | None = None,
                              source: str = "zendesk") -> tuple[list[Ticket], list[str]]:
    """``count`` tickets in creation order (default: one per Banking77 query) and, position by
    position, the intent each was written from. Same seed and end date, same history."""
    return HelpdeskShapedSimulator(seed=seed, weeks=weeks, end=end, source=source).labelled(count)


def write_helpdesk_history(path: str | Path, count: int | None = None, seed: int = 7, weeks: int = 8,
                           end: date | None = None, truth_path: str | Path | None = None) -> int:
    """Write the tickets to ``path`` as JSONL (importable by ``deskloop import``) and their true
    intents to ``truth_path`` (default :func:`truth_path_for`) as ``external_id,intent``; returns how many."""
    tickets, intents = generate_helpdesk_history(count=count, seed=seed, weeks=weeks, end=end)
    with open(path, "w", encoding="utf-8") as out:
        for ticket in tickets:
            out.write(ticket.model_dump_json(exclude_none=True, exclude_defaults=True) + "\n")
    with open(truth_path or truth_path_for(path), "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("external_id", "intent"))
        writer.writerows((t.external_id, intent) for t, intent in zip(tickets, intents, strict=True))
    return len(tickets)


def read_truth(path: str | Path) -> dict[str, str]:
    """A truth file as ``{external_id: intent}``."""
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["external_id"]: row["intent"] for row in csv.DictReader(handle)}

