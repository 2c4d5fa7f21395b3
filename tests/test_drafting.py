from core.suggesting.drafting import draft_reply


def test_the_other_customers_name_and_details_never_reach_the_draft():
    evidence = ("Hi Grace, your refund of $20.00 for order #Q99881 is on its way to grace.h@example.com. "
                "Call us on +44 20 7946 0958 if needed. Thanks, Grace Hopper")
    draft = draft_reply(evidence, "Grace Hopper", "Alan Turing", "Where is the refund for order #T12345?")
    for leaked in ("Grace", "Hopper", "$20.00", "Q99881", "grace.h@example.com", "7946"):
        assert leaked not in draft
    assert draft.startswith("Hi Alan,")
    assert "T12345" in draft  # this customer's own order id is filled in


def test_a_customer_without_a_name_is_greeted_politely():
    assert draft_reply("Hi Grace, done.", "Grace Hopper", None, "hello").startswith("Hi there,")
