"""How strong a password or a server key is, judged by zxcvbn (a maintained estimator of how many
guesses an attacker needs), not by length alone: ``aaaa...`` and ``password1234...`` are long and
worthless."""

from __future__ import annotations

from zxcvbn import zxcvbn

from core.errors import BadInput

MIN_PASSWORD_LENGTH = 12
#: zxcvbn's score 3: "safely unguessable: moderate protection from offline slow-hash scenario".
MIN_PASSWORD_SCORE = 3
#: A key that protects every tenant's credentials and every session: at least 10^20 guesses.
MIN_KEY_GUESSES_LOG10 = 20
#: zxcvbn's cost grows with the input; a key's first characters decide its weakness anyway.
_ESTIMATE_CHARS = 100


def check_password(password: str, *, email: str | None = None) -> None:
    """Refuse a weak operator password with a reason the person can act on."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(f"the password must be at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if len(password) > 1024:
        raise BadInput("the password must be at most 1024 characters", field="password")
    verdict = zxcvbn(password[:_ESTIMATE_CHARS], user_inputs=[email] if email else [])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        hint = verdict["feedback"].get("warning") or "add more unrelated words"
        raise BadInput(f"the password is too easy to guess ({hint.rstrip('.')})", field="password")


def key_weakness(key: str) -> str | None:
    """Why ``key`` is too weak to be ``DESKLOOP_SECRET_KEY``, or None when it is strong enough."""
    verdict = zxcvbn(key[:_ESTIMATE_CHARS])
    if verdict["guesses_log10"] < MIN_KEY_GUESSES_LOG10:
        return (f"it could be guessed in about 10^{verdict['guesses_log10']:.0f} tries "
                f"(a random key needs 10^{MIN_KEY_GUESSES_LOG10} or more)")
    return None
