"""``deskloop train`` and ``deskloop suggest`` from the command line, on a CSV import."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from core.cli import main
from tests.factories import SMALL_INBOX


def _csv(path):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category", "reply"])
        for intent, (texts, reply) in SMALL_INBOX.items():
            writer.writerows((text, intent, reply.format(name="there")) for text in texts)
    return path


def test_import_train_suggest(settings, db, tmp_path):
    run = CliRunner().invoke
    path = _csv(tmp_path / "inbox.csv")
    assert run(main, ["import", str(path), "--tenant", "acme", "--label-field", "category",
                      "--reply-field", "reply"]).exit_code == 0
    before = run(main, ["suggest", "--tenant", "acme", "--text", "where is my refund"])
    assert before.exit_code == 2 and "deskloop train --tenant acme" in before.output
    trained = run(main, ["train", "--tenant", "acme"])
    assert trained.exit_code == 0, trained.output
    assert "3 intents" in trained.output
    shown = run(main, ["suggest", "--tenant", "acme", "--text", "where is my refund", "--json"])
    assert shown.exit_code == 0, shown.output
    suggestion = json.loads(shown.output)
    assert suggestion["intent"] == "refund_status" and suggestion["model_version"]
    text = run(main, ["suggest", "--tenant", "acme", "--text", "where is my refund"])
    assert text.output.startswith("intent: refund_status")


def test_bad_input_exits_2(settings, db, tmp_path):
    run = CliRunner().invoke
    assert run(main, ["train", "--tenant", "nobody"]).exit_code == 2
    assert run(main, ["suggest", "--tenant", "nobody", "--text", "hi"]).exit_code == 2
    one_label = tmp_path / "one.csv"
    one_label.write_text("text,category\nhello,greeting\nhi there,greeting\n")
    run(main, ["import", str(one_label), "--tenant", "solo", "--label-field", "category"])
    trained = run(main, ["train", "--tenant", "solo"])  # one label teaches no intents; the rest still works
    assert trained.exit_code == 0 and "without intents" in trained.output, trained.output
    refused = run(main, ["labels", "use", "--tenant", "solo", "intent"])
    assert refused.exit_code == 2 and "one value" in refused.output
