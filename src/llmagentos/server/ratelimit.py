"""Per-key rate limits: requests per minute and model tokens per minute.

Each limit is a token bucket that holds a minute's allowance and refills continuously, so
a key may burst up to its limit and then runs at the limit's rate. A refused request gets
429 with `Retry-After` (whole seconds until the bucket can admit it) in the error shape of
its route (OpenAI's on `/v1`).

* Requests: every authenticated request of the key takes one from its bucket.
* Tokens: what a model call costs is known only once it ends, so tokens are charged after
  the fact and a call is admitted while the bucket is not empty; the bucket may go into
  debt, and the key waits until it is paid back. The tokens counted are everything the
  key's operator process tree used (its completions, streams cut short, the agents and
  apps it spawned), read from the kernel's accounting when the next call asks.

The buckets live in the server process (a server restart starts them full).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from llmagentos.server.auth import ApiKey
from llmagentos.server.errors import HTTPError


@dataclass(slots=True)
class Bucket:
    """A minute's allowance, refilled at `per_minute / 60` a second."""

    per_minute: int
    level: float
    at: float

    def refill(self, now: float) -> None:
        rate = self.per_minute / 60
        self.level = min(float(self.per_minute), self.level + (now - self.at) * rate)
        self.at = now

    def wait_s(self, need: float) -> float:
        """Seconds until the level reaches `need` (0 when it has)."""
        return max(0.0, (need - self.level) * 60 / self.per_minute)


class RateLimiter:
    """The buckets of every limited key, by key id."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._now = clock
        self._requests: dict[int, Bucket] = {}
        self._tokens: dict[int, Bucket] = {}
        self._seen: dict[int, int] = {}  # the operator tree's token count at the last look

    def _bucket(self, table: dict[int, Bucket], key: ApiKey, limit: int, now: float) -> Bucket:
        bucket = table.get(key.id)
        if bucket is None or bucket.per_minute != limit:  # new, or the limit was changed
            bucket = table[key.id] = Bucket(limit, float(limit), now)
        bucket.refill(now)
        return bucket

    def admit_request(self, key: ApiKey) -> None:
        """Take one request from the key's allowance, or raise 429."""
        limit = key.requests_per_minute
        if limit is None:
            return
        bucket = self._bucket(self._requests, key, limit, self._now())
        if bucket.level < 1:
            raise _limited(key, f"{limit} requests per minute", bucket.wait_s(1))
        bucket.level -= 1

    def admit_tokens(self, key: ApiKey, used_total: int) -> None:
        """Charge the tokens used since the last look (`used_total`: the key's operator
        tree's count); raise 429 while the key is in debt."""
        limit = key.tokens_per_minute
        if limit is None:
            return
        bucket = self._bucket(self._tokens, key, limit, self._now())
        seen = self._seen.get(key.id)
        # First look, or a new operator process (its count starts again): nothing to charge.
        if seen is not None and used_total >= seen:
            bucket.level -= used_total - seen
        self._seen[key.id] = used_total
        if bucket.level <= 0:
            raise _limited(key, f"{limit} tokens per minute", bucket.wait_s(1))


def _limited(key: ApiKey, what: str, wait_s: float) -> HTTPError:
    retry = max(1, math.ceil(wait_s))
    return HTTPError(
        429,
        f"rate limit of API key {key.name!r} reached ({what}); retry in {retry} s",
        "rate_limit_exceeded",
        {"Retry-After": str(retry)},
    )
