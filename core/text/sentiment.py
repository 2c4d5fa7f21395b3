"""Sentiment (frustrated / neutral / pleased) and urgency per message, offline.

VADER is a lexicon-and-rules model built for short informal text; its lexicon ships inside the
``vaderSentiment`` package, so nothing is downloaded and a message takes about 0.05 ms. The
library's own scoring is quadratic in a message's words; :mod:`core.text.valence` gives the same
scores in linear time, and a message is read up to :data:`core.text.limits.MESSAGE_MODEL_CHARS`. Support
conversations have their own cues that VADER's general lexicon misses ("still", "again", "third
time", shouting), which add to the frustration score. Urgency is a separate question: a polite
message about a stolen card is urgent; an angry one about a fee is not.

VADER's lexicon was built on tweets, where "please", "help", "honestly", "free" or "failed" say how
the writer feels. In a support message they are its manners ("please help", "thanks in advance"),
its subject ("is the transfer free?", "my payment failed") or a discourse marker ("honestly, ..."),
and read as feelings they made "Hi, could you please help me reset my password? Thanks in advance"
pleased and "Honestly this is terrible service" neutral. :func:`support_analyzer` reads them as
nothing; words of feeling ("disappointed", "awful", "brilliant") keep their weight.
``bench/tone.py`` measures both readings on a labelled set of support messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.text.limits import MESSAGE_MODEL_CHARS, truncated
from core.text.valence import LinearAnalyzer

Sentiment = str  # "frustrated", "neutral" or "pleased"

#: Part of every ticket's content hash, so a change to the rules re-scores tickets on re-import.
TONE_VERSION = "2"

#: Politeness and discourse: how a support message is written, not how its writer feels.
_MANNERS = (
    "please", "pls", "plz", "kindly", "help", "helps", "helping", "support", "like", "likes", "well",
    "sure", "ok", "okay", "yes", "yeah", "yea", "hopefully", "honestly", "honest", "frankly", "truly",
    "sincerely", "seriously", "pretty", "super", "sorry", "want",
)
#: What a ticket is about, whichever its writer's mood: "is it free?", "my card was stolen", "the
#: export failed". Words of feeling about it ("disappointed", "awful", "great") are not here.
_SUBJECTS = (
    "free", "credit", "credits", "interest", "save", "saved", "saving", "savings", "safe", "secure",
    "security", "trust", "care", "cares", "cared", "reward", "rewards", "bonus", "prize", "win", "winning", "cancel",
    "cancelled", "canceled", "cancellation", "lost", "lose", "stolen", "steal", "fraud", "block",
    "blocked", "dispute", "missing", "charged", "charge", "error", "errors", "fail", "failed", "fails",
    "failure", "problem", "problems", "delay", "delayed", "stuck", "crash", "crashed", "broken", "wrong",
    "declined", "decline", "debt", "fee", "fees", "fine", "pay", "payment", "limit", "warning", "risk",
    "emergency", "urgent", "doubt", "question", "questions", "no", "gift", "gifts", "mistake", "mistakes",
    "mistaken", "damage", "damaged", "cheat", "cheating", "cheated", "fraudulent", "denied", "deny",
    "scam", "hack", "hacked", "suspend", "suspended", "money",
)
#: Set phrases that hold a word of feeling they do not mean: politeness ("thanks in advance" thanks
#: nobody yet) and the plainest sarcasm ("thanks for nothing", which is also a complaint cue).
_FORMULAS = re.compile(
    r"\b(thanks?( you)?( so much)? in advance|tia|sorry (to|for) (bother|trouble|disturb)(ing)?( you)?|"
    r"to be (honest|frank)|(i|we)('d| would) appreciate( it)?|any help( would be)?( much| greatly)? "
    r"appreciated|appreciate (any|your) help|thanks for nothing)\b",
    re.I,
)

#: Each cue found takes 0.25 from the score, and one is enough to read a message as frustrated:
#: repetition ("still", "third email"), complaint ("not happy", "no reply", "keeps crashing") and
#: exasperation ("fed up", "can't believe", "so much for ...").
_FRUSTRATION_CUES = re.compile(
    r"\b(still|again|already|"
    r"(second|third|fourth|fifth|sixth|tenth|\d+(st|nd|rd|th)) (time|email|call|message|attempt|request)|"
    r"(\d+|two|three|four|five|six|several|many) times (now|already)|every single time|"
    r"ridiculous|unacceptable|useless|terrible|worst|nobody|no one|waiting for (days|weeks)|fed up|sick of|"
    r"cancel my account|(didn'?t|did not) help|not help(ful|ed)|no help|(doesn'?t|does not) work|"
    r"never (arrived|came|got)|thanks for nothing|not (happy|ok|okay|acceptable|cool|good enough|impressed|satisfied)|"
    r"no (reply|response|answer)|heard nothing|keeps? (happening|crashing|failing|dropping|freezing|logging me out)|"
    r"(?<!you )(?<!thanks )so much for|can'?t believe|cannot believe|(had|have) to chase|chasing|wits'? end|had enough|"
    r"cash grab|rip-?off|a joke|waste of (time|money))\b",
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


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")


class SupportAnalyzer(LinearAnalyzer):
    """VADER with the words of :data:`_MANNERS` and :data:`_SUBJECTS` read as carrying no feeling,
    and its word rules kept within a sentence. VADER's "not", "but" and idioms look three words
    back wherever they are, so in "I don't know if the money went or not. Stressful." the "not"
    of one sentence turned the next one's "stressful" into praise."""

    def __init__(self) -> None:
        super().__init__()
        for word in (*_MANNERS, *_SUBJECTS):
            self.lexicon.pop(word, None)

    def polarity_scores(self, text: str) -> dict[str, float]:
        text = self._emoji_described(text)
        valences = [v for sentence in _SENTENCE_END.split(text) if sentence for v in self.word_valences(sentence)]
        return self.score_valence(valences, text)


@lru_cache(maxsize=1)
def support_analyzer() -> SupportAnalyzer:
    return SupportAnalyzer()


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
    score = support_analyzer().polarity_scores(_FORMULAS.sub(" ", text))["compound"]
    cues = len(_FRUSTRATION_CUES.findall(text)) + 2 * _shouting(text)  # shouting weighs double
    score = max(-1.0, score - 0.25 * cues)
    if score <= -0.25:  # one cue alone, or words of feeling about as strong
        sentiment = "frustrated"
    elif score >= 0.35 and cues == 0:
        sentiment = "pleased"
    else:
        sentiment = "neutral"
    return Tone(sentiment, round(score, 3), bool(_URGENCY_CUES.search(text)))
