"""VADER's scores in time linear in the message, the same numbers as ``vaderSentiment``'s.

``vaderSentiment`` 3.3.2 copies and lower-cases the whole word list for every sentiment word it
scores (twice per preceding word, in ``_negation_check`` and ``_special_idioms_check``), and its
"but" rule looks each score up with ``list.index`` and re-inserts it: a message of n words costs
n² steps. 80 KB took 9.3 s and 160 KB 37 s on a worker. Both rules only ever read the three words
before a word and the two after it, so :class:`LinearAnalyzer` hands them that window (the
library's own code still decides) and replays the "but" rule with a heap per value, keeping its
exact results, quirks included: when a halved score equals a later one, ``list.index`` finds the
earlier position first, and so does this. ``tests/test_text_size.py`` checks the equality on
random texts against the library.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

from vaderSentiment.vaderSentiment import BOOSTER_DICT as _BOOSTERS
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer, SentiText

#: Words a rule reads before and after the scored one (``_special_idioms_check``: i-3 .. i+2).
_BEFORE, _AFTER = 3, 2


class LinearAnalyzer(SentimentIntensityAnalyzer):
    """``SentimentIntensityAnalyzer`` with its per-word rules read through a bounded window."""

    def __init__(self) -> None:
        super().__init__()
        self._emoji_chars = frozenset(key for key in self.emojis if len(key) == 1)

    def polarity_scores(self, text: str) -> dict[str, float]:
        text = self._emoji_described(text)
        return self.score_valence(self.word_valences(text), text)

    def word_valences(self, text: str) -> list[float]:
        """Each word's valence after the library's rules, the "but" rule included (``text`` with
        its emoji already described)."""
        sentitext = SentiText(text)
        words = sentitext.words_and_emoticons
        lower = [w.lower() for w in words]
        sentiments: list[float] = []
        for i, item in enumerate(words):
            if lower[i] in _BOOSTERS or (i < len(words) - 1 and lower[i] == "kind" and lower[i + 1] == "of"):
                sentiments.append(0)
                continue
            sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
        return _but_scaled(lower, sentiments)

    def _emoji_described(self, text: str) -> str:
        """The library's emoji step (each emoji replaced by its description), built as a list."""
        if self._emoji_chars.isdisjoint(text):
            return text.strip()
        out: list[str] = []
        prev_space = True
        for char in text:
            description = self.emojis.get(char) if char in self._emoji_chars else None
            if description is not None:
                if not prev_space:
                    out.append(" ")
                out.append(description)
                prev_space = False
            else:
                out.append(char)
                prev_space = char == " "
        return "".join(out).strip()

    def _negation_check(self, valence, words_and_emoticons, start_i, i):
        low = max(0, i - _BEFORE)
        return SentimentIntensityAnalyzer._negation_check(valence, words_and_emoticons[low:i + 1], start_i, i - low)

    def _special_idioms_check(self, valence, words_and_emoticons, i):
        low = max(0, i - _BEFORE)
        window = words_and_emoticons[low:i + _AFTER + 1]
        return SentimentIntensityAnalyzer._special_idioms_check(valence, window, i - low)


def _but_scaled(lower: list[str], sentiments: list[float]) -> list[float]:
    """The library's "but" rule (scores before the first "but" halved, after it times 1.5) with
    its lookups: at each position the score changed is the first one *equal* to that position's
    current score, as ``sentiments.index`` finds it."""
    try:
        but = lower.index("but")
    except ValueError:
        return sentiments
    scores = list(sentiments)
    positions: dict[float, list[int]] = defaultdict(list)  # current value -> heap of positions
    for position, score in enumerate(scores):
        positions[score].append(position)  # ascending: already a heap
    for position in range(len(scores)):
        value = scores[position]
        heap = positions[value]
        first = heap[0]
        if first == but:
            continue
        heapq.heappop(heap)
        scaled = value * (0.5 if first < but else 1.5)
        scores[first] = scaled
        heapq.heappush(positions[scaled], first)
    return scores

