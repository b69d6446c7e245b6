"""Counting prompt tokens for window fitting, erring on the side of too many.

A backend that can count (`count_prompt_tokens`, e.g. the doubles, a local tokenizer) is
asked; a character estimate is taken too, and the larger wins. The estimate divides by
`chars_per_token` (3: pessimistic for English, where a token is about 4 characters) and
is never below the kernel's own admission estimate (`handlers.estimate_tokens`, 4 per
token), so a fitted request always passes the kernel's window check as well.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

from llmagentos.llm.types import LLMRequest, Message

__all__ = ["TokenCounter"]

_MESSAGE_OVERHEAD = 16  # role, separators and template tokens around each message
_REQUEST_OVERHEAD = 8


class TokenCounter:
    """Upper bounds on prompt tokens for one backend."""

    def __init__(self, backend: Any, chars_per_token: float = 3.0) -> None:
        self.chars_per_token = min(max(chars_per_token, 0.5), 4.0)
        count = getattr(backend, "count_prompt_tokens", None)
        self._exact = count if callable(count) else None
        self._cache: OrderedDict[Message, int] = OrderedDict()

    def _estimate(self, chars: int) -> int:
        return math.ceil((chars + _MESSAGE_OVERHEAD) / self.chars_per_token)

    def message(self, message: Message) -> int:
        """Tokens one message takes in a prompt (cached: conversations repeat messages)."""
        cost = self._cache.get(message)
        if cost is not None:
            self._cache.move_to_end(message)
            return cost
        chars = len(message.content) + sum(
            len(c.name) + len(c.arguments) + 16 for c in message.tool_calls
        )
        cost = self._estimate(chars)
        if self._exact is not None:
            cost = max(cost, int(self._exact(LLMRequest(messages=(message,)))))
        self._cache[message] = cost
        if len(self._cache) > 4096:
            self._cache.popitem(last=False)
        return cost

    def text(self, content: str, role: str = "system") -> int:
        """Tokens a message of this content would take."""
        return self.message(Message(role=role, content=content))  # type: ignore[arg-type]

    def tools(self, request: LLMRequest) -> int:
        return sum(
            self._estimate(len(t.name) + len(t.description) + len(str(t.parameters)) + 48)
            for t in request.tools
        )

    def request(self, request: LLMRequest) -> int:
        """Tokens the whole prompt takes (messages, tool specs, overhead)."""
        total = sum(self.message(m) for m in request.messages)
        total += self.tools(request) + _REQUEST_OVERHEAD
        if self._exact is not None:
            total = max(total, int(self._exact(request)))
        return total
