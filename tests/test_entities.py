from core.entities import find_entities, luhn_valid, redact


def _types(text):
    return {(e.type, e.text) for e in find_entities(text)}


def test_finds_the_entities_support_tickets_carry():
    text = ("Order #A12345 failed with ERR-502 after I paid $49.99 on 2024-03-02. "
            "Card 4111 1111 1111 1111. Call +1 415 555 0134 or write to jo.doe@example.com, see https://x.io/a")
    found = _types(text)
    assert ("order_id", "A12345") in found
    assert ("error_code", "ERR-502") in found
    assert ("money", "$49.99") in found
    assert ("date", "2024-03-02") in found
    assert ("card_number", "4111 1111 1111 1111") in found
    assert ("phone", "+1 415 555 0134") in found
    assert ("email", "jo.doe@example.com") in found
    assert ("url", "https://x.io/a") in found


def test_card_numbers_must_pass_the_checksum():
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert not any(e.type == "card_number" for e in find_entities("ref 4111 1111 1111 1112"))


def test_spans_point_at_the_text():
    text = "mail me at a@b.co please"
    (entity,) = find_entities(text)
    assert text[entity.start : entity.end] == "a@b.co"


def test_redact_removes_personal_details_only():
    out = redact("Write to jo@example.com about ERR-502")
    assert "jo@example.com" not in out and "[email]" in out and "ERR-502" in out
