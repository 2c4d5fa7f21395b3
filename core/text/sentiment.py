"""Sentiment (frustrated / neutral / pleased) and urgency per message, offline.

VADER is a lexicon-and-rules model built for short informal text; its lexicon ships inside the
``vaderSentiment`` package, so nothing is downloaded and a message takes about 0.05 ms. The
library's own scoring is quadratic in a message's words; :mod:`core.text.valence` gives the same
scores in linear time, and a message is read up to :data:`core.text.limits.MESSAGE_MODEL_CHARS`. Support
conversations have their own cues that VADER's general lexicon misses ("still", "again", "third
time", shouting), which add to the frustration score. Urgency is a separate question: a polite
message about a stolen card is urgent; an angry one about a fee is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.text.limits import MESSAGE_MODEL_CHARS, truncated
from core.text.valence import LinearAnalyzer

Sentiment = str  # "frustrated", "neutral" or "pleased"

#: Part of every ticket's content hash, so a change to the rules re-scores tickets on re-import.
TONE_VERSION = "1"

_FRUSTRATION_CUES = re.compile(
    r"\b(still|again|already|(second|third|fourth|\d+(st|nd|rd|th)) time|ridiculous|unacceptable|useless|"
    r"terrible|worst|nobody|no one|waiting for (days|weeks)|fed up|sick of|cancel my account|"
    r"didn'?t help|not help(ful|ed)|doesn'?t work|never (arrived|came|got))\b",
    re.I,
)
_URGENCY_CUES = re.compile(
    r"\b(urgent(ly)?|asap|immediately|right now|emergency|as soon as possible|today|tonight|"
    r"stole|stolen|steal|theft|fraud(ulent)?|scam(med)?|hacked|compromised|block (it|my card)|freeze (it|my card)|"
    r"unauthori[sz]ed|don'?t recogni[sz]e|locked out|"
    r"can'?t (access|log ?in|pay)|cannot (access|log ?in|pay)|blocked|outage|down for everyone|"
    r"deadline|lost (my )?(card|phone|wallet))\b",
    re.I,
)


@dataclass(frozen=True)
class Tone:
    sentiment: Sentiment
    score: float  # VADER compound adjusted for support cues, -1 (angry) .. 1 (delighted)
    urgent: bool


#: Messages up to this long are cached ("Thanks!", "Any update?" repeat a lot); a cache of long
#: ones would hold thousands of whole messages in memory for nothing.
CACHED_CHARS = 256


@lru_cache(maxsize=1)
def _analyzer() -> LinearAnalyzer:
    return LinearAnalyzer()


_UPPER = re.compile(r"[A-Z]")
_LOWER = re.compile(r"[a-z]")


def _shouting(text: str) -> bool:
    if text.count("!") >= 2:
        return True
    upper = len(_UPPER.findall(text))
    return upper >= 12 and upper / (upper + len(_LOWER.findall(text))) > 0.6


def analyze(text: str) -> Tone:
    """The tone of one message (its first :data:`MESSAGE_MODEL_CHARS` characters)."""
    if len(text) <= CACHED_CHARS:
        return _cached(text)
    return _tone(truncated(text, MESSAGE_MODEL_CHARS))


@lru_cache(maxsize=8192)
def _cached(text: str) -> Tone:
    return _tone(text)


def _tone(text: str) -> Tone:
    score = _analyzer().polarity_scores(text)["compound"]
    cues = len(_FRUSTRATION_CUES.findall(text)) + 2 * _shouting(text)  # shouting weighs double
    score = max(-1.0, score - 0.25 * cues)
    if score <= -0.3:
        sentiment = "frustrated"
    elif score >= 0.35 and cues == 0:
        sentiment = "pleased"
    else:
        sentiment = "neutral"
    return Tone(sentiment, round(score, 3), bool(_URGENCY_CUES.search(text)))
