"""Which post-contact pattern a custom field's name carries, word for word.

A pattern is matched as whole words of the name, never as a substring: `tag` is no part of
`percentage`, nor `rating` of `operating_region`. "Do not ..." (do_not_call, DoNotEmail) is a
consent the lead gave on the form, known before any contact, so a pattern right after it does not count.
"""

from __future__ import annotations

import re

CONSENT = ("do", "not")


def name_words(name: str) -> list[str]:
    """`Last Call_outcome`, `lastCallOutcome` and `last-call-outcome` all give last, call, outcome."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return [word for word in re.split(r"[^a-z0-9]+", spaced.lower()) if word]


def post_contact_word(name: str, patterns: list[str]) -> str | None:
    """The first pattern found as whole words of `name`, outside a "do not" consent; None if none."""
    words = name_words(name)
    for pattern in patterns:
        wanted = name_words(pattern)
        for start in range(len(words) - len(wanted) + 1):
            if words[start : start + len(wanted)] == wanted and tuple(words[max(0, start - 2) : start]) != CONSENT:
                return pattern
    return None


def post_contact_reason(pattern: str) -> str:
    words = f"words '{pattern}'" if len(name_words(pattern)) > 1 else f"word '{pattern}'"
    return f"its name has the {words} (post_contact_patterns): filled by sales after contact"
