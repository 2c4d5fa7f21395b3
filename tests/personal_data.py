"""A seeded helpdesk history full of personal data, written the way customers and agents write it.

Replies carry each customer's details in the shapes real replies have and no detector lists:
addresses of several countries, many without a street suffix ("Calle Mayor 12, 28013 Madrid",
"Flat 3, 22 Kingsway", "1-2-3 Shibuya"), the last four digits of a card ("ending 0004"), a city
("should reach Osaka by Friday"), a date of birth in three formats, an account number with no
keyword before it, relatives and colleagues named mid-sentence, and agents who phrase the same
answer differently. Customers write more than once, and sometimes repeat their own details in
their message. Used by ``tests/test_draft_privacy.py`` and ``bench/draft_privacy.py``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.types import Ticket

FIRST = ("Ada Grace Alan Edsger Barbara Katherine Donald Frances Leslie Radia Margaret Dennis Hedy Claude Sofia "
         "Mateo Yuki Kenji Aiko Lucía Javier Carmen Élodie Mathieu Chloé Jonas Greta Lukas Priya Arjun Ananya Kofi "
         "Amara Chidi Ingrid Sven Astrid Piotr Zofia Marek Giulia Marco Chiara Daan Femke Sanne Will Mark May "
         "Rose Joy Dawn Omar Layla Tariq Mei Wei Jun").split()
LAST = ("Lovelace Hopper Turing Dijkstra Liskov Johnson Knuth Allen Lamport Perlman Hamilton Ritchie Lamarr Shannon "
        "García Fernández López Martín Tanaka Suzuki Watanabe Dubois Lefèvre Moreau Müller Schneider Becker "
        "Sharma Iyer Mensah Okafor Adeyemi Lindqvist Johansson Kowalski Nowak Rossi Bianchi Conti Jansen "
        "Bakker Visser Haddad Nasser Chen Wang Zhang").split()
RELATIVES = ("husband", "wife", "son", "daughter", "partner", "mother", "father", "brother", "sister")
AGENTS = ("Sam Reyes", "Alex Kim", "Jordan Blake", "Robin Hale", "Casey Moore")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


def _address(rng: random.Random) -> tuple[str, str, list[str]]:
    """(address, city, the address's telling parts: street name and postcode)."""
    n = rng.randint(1, 250)
    shape = rng.randrange(10)
    if shape == 0:
        street, city = rng.choice(["Calle Mayor", "Calle de Alcalá", "Calle Serrano", "Avenida de América",
                                   "Paseo del Prado", "Calle Larios", "Gran Vía"]), rng.choice(["Madrid", "Sevilla",
                                                                                                 "Málaga", "Valencia"])
        postcode = _digits(rng, 5)
        return f"{street} {n}, {postcode} {city}", city, [street, postcode]
    if shape == 1:
        street = rng.choice(["Kingsway", "The Strand", "Piccadilly", "Whitehall", "Cheapside", "Aldwych",
                             "Moorgate", "Holborn", "Marylebone High"])
        postcode = f"{rng.choice(['WC2B', 'EC2V', 'W1J', 'SW1A', 'N1'])} {rng.randint(1, 9)}{rng.choice('ABDEFG')}" \
                   f"{rng.choice('HJLNPQ')}"
        return f"Flat {rng.randint(1, 40)}, {n} {street}, London {postcode}", "London", [street, postcode]
    if shape == 2:
        street = rng.choice(["Hauptstraße", "Am Markt", "Unter den Linden", "Schillerplatz", "Bahnhofstraße",
                             "Kastanienallee", "Am Kupfergraben"])
        city, postcode = rng.choice(["Berlin", "Leipzig", "München", "Hamburg"]), _digits(rng, 5)
        return f"{street} {n}, {postcode} {city}", city, [street, postcode]
    if shape == 3:
        street = rng.choice(["rue de Rivoli", "place Bellecour", "boulevard Haussmann", "rue Oberkampf",
                             "quai de Valmy", "avenue Jean Jaurès"])
        city, postcode = rng.choice(["Paris", "Lyon", "Marseille", "Lille"]), _digits(rng, 5)
        return f"{n} {street}, {postcode} {city}", city, [street.split(" ", 1)[1], postcode]
    if shape == 4:
        street = rng.choice(["Via Roma", "Corso Buenos Aires", "Via Toledo", "Piazza Navona", "Via del Corso"])
        city, postcode = rng.choice(["Roma", "Milano", "Napoli", "Torino"]), _digits(rng, 5)
        return f"{street} {n}, {postcode} {city}", city, [street, postcode]
    if shape == 5:
        street = rng.choice(["Keizersgracht", "Prinsengracht", "Damrak", "Herengracht", "Oudegracht"])
        city = rng.choice(["Amsterdam", "Utrecht", "Haarlem"])
        postcode = f"{rng.randint(1000, 9999)} {rng.choice(['CJ', 'AB', 'KL', 'RT'])}"
        return f"{street} {n}, {postcode} {city}", city, [street, postcode]
    if shape == 6:
        ward = rng.choice(["Shibuya", "Shinjuku", "Minato", "Meguro", "Chuo"])
        city, postcode = rng.choice(["Tokyo", "Osaka", "Yokohama"]), f"{_digits(rng, 3)}-{_digits(rng, 4)}"
        block = f"{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
        return f"{block} {ward}, {city} {postcode}", city, [block, ward, postcode]
    if shape == 7:
        street = rng.choice(["Marszałkowska", "Nowy Świat", "Piotrkowska", "Floriańska"])
        city, postcode = rng.choice(["Warszawa", "Kraków", "Łódź"]), f"{_digits(rng, 2)}-{_digits(rng, 3)}"
        return f"ul. {street} {n}, {postcode} {city}", city, [street, postcode]
    if shape == 8:
        street = rng.choice(["Fifth Avenue", "Larkin Ave", "Elm Street", "Sunset Blvd", "Ocean Drive"])
        city, state = rng.choice([("New York", "NY"), ("Springfield", "IL"), ("Austin", "TX"), ("Miami", "FL")])
        postcode = _digits(rng, 5)
        return f"{n} {street}, {city}, {state} {postcode}", city, [street, postcode]
    street = rng.choice(["Mill Lane", "Harbour Road", "Station Road", "Baker Street", "Church Lane"])
    city = rng.choice(["Leeds", "Bristol", "York", "Glasgow"])
    postcode = f"{rng.choice(['LS1', 'BS8', 'YO1', 'G2'])} {rng.randint(1, 9)}AB"
    return f"{n} {street}, {city} {postcode}", city, [street, postcode]


def _dob(rng: random.Random) -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1950, 2004)
    months = "January February March April May June July August September October November December".split()
    return rng.choice([f"{day:02d}/{month:02d}/{year}", f"{day} {months[month - 1]} {year}",
                       f"{year}-{month:02d}-{day:02d}"])


@dataclass
class Customer:
    key: str
    first: str
    last: str
    values: dict[str, str] = field(default_factory=dict)
    telling: set[str] = field(default_factory=set)  # every string of theirs no other customer's draft may show

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def make_customer(rng: random.Random, key: str) -> Customer:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    address, city, parts = _address(rng)
    travel = rng.choice(["Osaka", "Lisbon", "Reykjavík", "Marrakesh", "Hanoi", "Cusco", "Tbilisi", "Valparaíso",
                         "Kraków", "Porto", "Seville", "Busan", "Zanzibar", "Bergen", "Tallinn", "Oaxaca"])
    relative_first = rng.choice([f for f in FIRST if f != first])
    values = {
        "address": address, "city": city, "travel": travel,
        "last4": rng.choice(["0004", _digits(rng, 4), _digits(rng, 4)]),
        "dob": _dob(rng), "account": _digits(rng, 8), "order": f"NW{rng.randint(100000, 999999)}",
        "amount": f"€{rng.randint(10, 900)}.{rng.randint(10, 99)}",
        "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@mail.example",
        "phone": f"+{rng.choice(['44 20', '34 91', '49 30', '81 3'])} {_digits(rng, 4)} {_digits(rng, 4)}",
        "relative": rng.choice(RELATIVES), "relative_name": f"{relative_first} {last}",
    }
    customer = Customer(key, first, last, values)
    customer.telling = {first, last, relative_first, address, city, travel, *parts, values["last4"], values["dob"],
                        values["account"], values["order"], values["amount"], values["email"], values["phone"]}
    return customer


#: Intent -> (what customers write, how agents answer: several phrasings per intent). Fields in
#: braces are the customer's details; ``{agent}`` is who answered.
INTENTS: dict[str, tuple[list[str], list[str]]] = {
    "card_delivery": (
        ["Where is my new card?", "My replacement card has not arrived", "Still waiting for the card you sent",
         "When will my new card get here?"],
        ["Hi {first}, your new card ending {last4} was posted to {address} on Monday. It should reach {city} "
         "within 3 to 5 working days. You can follow it under Cards > Track delivery.\n\nBest,\n{agent}",
         "Hello {first}! The card ending {last4} left our warehouse and is on its way to {address}; it should "
         "reach {city} by Friday. You can follow it under Cards > Track delivery. {agent}",
         "Thanks {first}. We posted the card ending {last4} to {address}. It should reach {city} within 3 to 5 "
         "working days. You can follow it under Cards > Track delivery."],
    ),
    "address_change": (
        ["I moved house, please update my address", "Can you change my delivery address?",
         "New address for my account please"],
        ["Hi {first}, done: I've updated {account} with the new address {address}. Your next card and "
         "statements will go there. Best, {agent}",
         "Thanks {first}, account {account} now has {address} as its delivery address. Your next card and "
         "statements will go there.",
         "Hello {first}, I've changed the address on {account} to {address}. Your next card and statements will "
         "go there. {agent}"],
    ),
    "refund": (
        ["Where is my refund?", "The refund for my order has not shown up", "I am still waiting for my money back"],
        ["Hi {first}, the refund of {amount} for order {order} went back to the card ending {last4} today. It can "
         "take 5 to 10 working days to show on your statement.",
         "Hello {first}, we sent {amount} back for {order} to the card ending {last4}. It can take 5 to 10 working "
         "days to show on your statement. Best, {agent}",
         "Hi {first}, good news: {amount} is on its way back to the card ending {last4} (order {order}). It can "
         "take 5 to 10 working days to show on your statement."],
    ),
    "identity_check": (
        ["My account is locked", "I cannot log in, it says my account is locked", "Please unlock my account"],
        ["Hi {first}, thanks for confirming your date of birth ({dob}) and your phone number {phone}. Your "
         "account is unlocked and you can log in again. {agent}",
         "Hello {first}, I checked {dob} and {phone} against {account} and everything matches. Your account is "
         "unlocked and you can log in again.",
         "Thanks {first}! Date of birth {dob} confirmed. Your account is unlocked and you can log in again. "
         "If it happens again, call us from {phone}. Best, {agent}"],
    ),
    "travel_notice": (
        ["I am travelling abroad next week", "Will my card work abroad?", "Going on holiday, anything I should do?"],
        ["Hi {first}, we've noted your trip to {travel}; your card will work there with no extra fees. Enjoy "
         "{travel}!",
         "Hello {first}! Your card will work in {travel} with no extra fees. Have a great trip. {agent}",
         "Hi {first}, noted: travelling to {travel}. Your card will work there with no extra fees. Best, {agent}"],
    ),
    "extra_cardholder": (
        ["Can my family get a card on my account?", "I want to add my partner to my account",
         "How do I add a second cardholder?"],
        ["Hi {first}, I've added your {relative} {relative_name} as a second cardholder. Their card goes to "
         "{address} within 3 to 5 working days. {agent}",
         "Hello {first}, {relative_name} is now a second cardholder on {account}. Their card goes to {address} "
         "within 3 to 5 working days.",
         "Hi {first}, done! Your {relative} {relative_name} is a second cardholder now; their card goes to "
         "{address} within 3 to 5 working days. Best, {agent}"],
    ),
}


def _own_message(rng: random.Random, customer: Customer, question: str) -> str:
    """What the customer writes: the question, and sometimes some of their own details."""
    v = customer.values
    extras = [f"My order is {v['order']}.", f"I live at {v['address']}.", f"The card ends in {v['last4']}.",
              f"My account is {v['account']}.", f"I'm travelling to {v['travel']}.", f"Call me on {v['phone']}."]
    picked = rng.sample(extras, rng.randint(0, 2))
    sign = rng.choice(["", f"\n\nThanks,\n{customer.first}", f"\n\n{customer.name}"])
    return " ".join([question, *picked]) + sign


def personal_history(seed: int = 5, customers: int = 120, tickets: int = 600,
                     intents: bool = True) -> tuple[list[Ticket], list[Customer]]:
    """``tickets`` resolved tickets from ``customers`` customers (each writing one or more), with
    intent labels unless ``intents`` is false (a history straight from a helpdesk)."""
    rng = random.Random(seed)
    people = [make_customer(rng, f"c{i}") for i in range(customers)]
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    out = []
    for i in range(tickets):
        customer = people[i % customers] if i < customers else rng.choice(people)
        intent = list(INTENTS)[i % len(INTENTS)]
        questions, replies = INTENTS[intent]
        agent = rng.choice(AGENTS)
        reply = rng.choice(replies).format(**customer.values, first=customer.first, agent=agent.split()[0])
        out.append(Ticket.model_validate({
            "external_id": f"pd-{i}",
            "messages": [
                {"author_role": "customer", "body": _own_message(rng, customer, rng.choice(questions)),
                 "author_name": customer.name},
                {"author_role": "agent", "body": reply, "author_name": agent},
            ],
            "intent": intent if intents else None,
            "status": "solved",
            "requester": {"name": customer.name, "email": customer.values["email"], "external_id": customer.key},
            "created_at": start + timedelta(minutes=37 * i),
        }))
    return out, people


def probes(seed: int = 99, count: int = 60) -> list[tuple[Customer, str, str]]:
    """New customers (none of them in the history) and what they write: (customer, intent, text)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        customer = make_customer(rng, f"probe{i}")
        intent = list(INTENTS)[i % len(INTENTS)]
        out.append((customer, intent, _own_message(rng, customer, rng.choice(INTENTS[intent][0]))))
    return out


def leaks(draft: str, others: list[Customer], own: Customer | None, own_text: str) -> list[str]:
    """The other customers' telling strings in ``draft`` (not those this customer shares or wrote)."""
    mine = set(own.telling) if own is not None else set()
    found = []
    for customer in others:
        for value in customer.telling - mine:
            if value in own_text:
                continue
            if re.search(rf"(?<![\w]){re.escape(value)}(?![\w])", draft):
                found.append(value)
    return sorted(set(found))
