"""Retries of CRM calls: rate limits (HTTP 429, waiting as `Retry-After` says) and transient server
errors (5xx, dropped connections) retried with exponential backoff, through tenacity.

Each destination says what an exception means (`classify`); a spent daily quota is never retried
(QuotaExhausted stops the sync cleanly), and anything else is raised at once.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

T = TypeVar("T")


@dataclass
class Transient(Exception):
    """A failure worth retrying; `retry_after`: seconds the server asked to wait, when it said."""

    reason: str
    retry_after: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    first_wait: float = 0.5  # seconds; doubled each attempt, with jitter, up to max_wait
    max_wait: float = 30.0


def call(
    request: Callable[[], T],
    classify: Callable[[Exception], Exception | None],
    policy: RetryPolicy,
    on_attempt: Callable[[], None] = lambda: None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`request()`, retried while `classify` turns its exception into a Transient. `classify`
    returns the exception to raise instead (a Transient, QuotaExhausted, DestinationError) or None
    to raise the original. `on_attempt` runs before each attempt (counting API calls)."""
    backoff = tenacity.wait_exponential_jitter(initial=policy.first_wait, max=policy.max_wait)

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, Transient) and error.retry_after is not None:
            return min(error.retry_after, policy.max_wait * 4)
        return backoff(state)

    def attempt() -> T:
        on_attempt()
        try:
            return request()
        except Exception as error:
            meaning = classify(error)
            if meaning is None:
                raise
            raise meaning from error

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=wait,
        retry=tenacity.retry_if_exception_type(Transient),
        sleep=sleep,
        reraise=True,
    )
    return retrying(attempt)


class Window:
    """At most `calls` requests in any `seconds` (HubSpot's per-10-second limit): waits before a
    request that would exceed it, so the server's 429 stays the exception, not the pace."""

    def __init__(self, calls: int, seconds: float, clock: Callable[[], float] = time.monotonic, sleep=time.sleep):
        self.calls, self.seconds, self.clock, self.sleep = calls, seconds, clock, sleep
        self.sent: deque[float] = deque()

    def wait_turn(self) -> None:
        now = self.clock()
        while self.sent and now - self.sent[0] >= self.seconds:
            self.sent.popleft()
        if len(self.sent) >= self.calls:
            self.sleep(self.seconds - (now - self.sent[0]))
            self.sent.popleft()
        self.sent.append(self.clock())
