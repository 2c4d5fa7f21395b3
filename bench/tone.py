"""The tone reader on labelled support messages: accuracy, precision and recall per tone.

``bench/data/tones.csv`` holds customer messages (banking, software, shops, games, telecom) each
labelled frustrated, neutral or pleased as a support lead reads it, written for this purpose apart
from the reader's code and full of what trips a general lexicon: politeness inside complaints
("please help"), discourse markers ("honestly"), the subject's own words ("is the transfer free?",
"my payment failed"), negated praise. Two readings are compared:

- **version 1**: the tone reader up to ``TONE_VERSION`` 1, copied here as it was: VADER's lexicon
  as the library ships it, the first support cues, frustrated from -0.3;
- **version 2**: :func:`core.text.sentiment.analyze` as it is (politeness, discourse and subject
  words read as no feeling, rules kept within a sentence, more cues, one cue enough).

The rows are split in two halves by a hash of the text: the word lists were adjusted looking only
at the first ("tuning"); the second ("held out") was scored after they were settled.

    .venv/bin/python bench/tone.py [--show-errors]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import zlib
from pathlib import Path

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.text.sentiment import _shouting, analyze  # noqa: E402
from core.text.valence import LinearAnalyzer  # noqa: E402

SET = Path(__file__).resolve().parent / "data" / "tones.csv"
TONES = ("frustrated", "neutral", "pleased")


_VERSION_1_CUES = re.compile(
    r"\b(still|again|already|(second|third|fourth|\d+(st|nd|rd|th)) time|ridiculous|unacceptable|useless|"
    r"terrible|worst|nobody|no one|waiting for (days|weeks)|fed up|sick of|cancel my account|"
    r"didn'?t help|not help(ful|ed)|doesn'?t work|never (arrived|came|got))\b",
    re.I,
)


def version_1(text: str, analyzer: LinearAnalyzer) -> str:
    score = analyzer.polarity_scores(text)["compound"]
    cues = len(_VERSION_1_CUES.findall(text)) + 2 * _shouting(text)
    score = max(-1.0, score - 0.25 * cues)
    return "frustrated" if score <= -0.3 else "pleased" if score >= 0.35 and cues == 0 else "neutral"


def load() -> list[tuple[str, str]]:
    with SET.open(newline="", encoding="utf-8") as handle:
        return [(row["text"], row["tone"]) for row in csv.DictReader(handle)]


def half(text: str) -> str:
    return "tuning" if zlib.crc32(text.encode()) % 2 == 0 else "held out"


def report(name: str, truth: list[str], read: list[str]) -> None:
    precision, recall, f1, support = precision_recall_fscore_support(truth, read, labels=TONES, zero_division=0)
    print(f"  {name}: accuracy {accuracy_score(truth, read):.3f}, macro F1 {f1.mean():.3f}")
    for tone, p, r, n in zip(TONES, precision, recall, support, strict=True):
        print(f"    {tone:<10} precision {p:.3f} recall {r:.3f} ({n} messages)")
    matrix = confusion_matrix(truth, read, labels=TONES)
    print("    confusion (rows: labelled, columns: read as " + " / ".join(TONES) + "): "
          + "; ".join(" ".join(str(x) for x in row) for row in matrix))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show-errors", action="store_true", help="print the tuning half's misread messages")
    args = parser.parse_args()
    rows = load()
    plain = LinearAnalyzer()
    readings = {"version 1": [version_1(text, plain) for text, _ in rows],
                "version 2": [analyze(text).sentiment for text, _ in rows]}
    print(f"{len(rows)} labelled messages ({SET.relative_to(SET.parents[2])})")
    for part in ("tuning", "held out", "all"):
        chosen = [i for i, (text, _) in enumerate(rows) if part == "all" or half(text) == part]
        print(f"{part}: {len(chosen)} messages")
        for name, read in readings.items():
            report(name, [rows[i][1] for i in chosen], [read[i] for i in chosen])
    if args.show_errors:
        for i, (text, tone) in enumerate(rows):
            if half(text) == "tuning" and readings["version 2"][i] != tone:
                print(f"  {tone:<10} read {readings['version 2'][i]:<10} {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
