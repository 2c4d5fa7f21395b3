from core.text.entities import find_entities, luhn_valid, redact


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


def test_ids_need_a_digit_so_ordinary_words_are_not_ids():
    text = "I ordered a card and need my account details. Customer service said order no. 88123-B is late."
    found = _types(text)
    assert ("order_id", "88123-B") in found
    assert not any(kind in {"order_id", "account_id"} and value != "88123-B" for kind, value in found)
    assert ("account_id", "ACC-20931") in _types("my account ACC-20931 is locked")


def test_ibans_must_pass_their_check():
    assert ("iban", "GB82 WEST 1234 5698 7654 32") in _types("pay into GB82 WEST 1234 5698 7654 32 please")
    assert not any(e.type == "iban" for e in find_entities("ref GB82 WEST 1234 5698 7654 33"))


def test_street_addresses():
    found = _types("Send it to 221B Baker Street, London NW1 6XE. Or Hauptstraße 12 in Berlin.")
    assert ("address", "221B Baker Street, London NW1 6XE") in found
    assert ("address", "Hauptstraße 12") in found
    assert ("address", "42 Elm Avenue") in _types("I moved to 42 Elm Avenue last week")


def test_a_tenant_vocabulary_learns_products_from_text_and_features_from_tags():
    from core.text.vocabulary import Vocabulary

    texts = [f"Hi, my payment with Google Pay failed again ({i}). There is a problem with the virtual card."
             for i in range(6)] + ["there is nothing else", "now it works"] * 5
    vocabulary = Vocabulary.learn(texts, ["virtual-cards", "billing"], ["Ada Lovelace"], ["Sam"])
    assert vocabulary.terms["google pay"] == "product"
    assert vocabulary.terms["virtual card"] == "feature"
    assert "there" not in vocabulary.terms and "billing" not in vocabulary.terms  # no tickets say "billing"
    assert {"Ada", "Lovelace"} <= vocabulary.people and "Sam" not in vocabulary.people
    found = {(e.type, e.text) for e in find_entities("Can I add virtual cards to google pay?", vocabulary.patterns)}
    assert found == {("feature", "virtual cards"), ("product", "google pay")}


def test_a_phone_number_ending_a_sentence_is_found():
    assert ("phone", "+1 415 555 0134") in _types("Call us on +1 415 555 0134.")
    assert not any(e.type == "phone" for e in find_entities("version 10.2.3344.5566 is out"))
