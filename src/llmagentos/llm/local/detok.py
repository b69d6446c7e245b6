"""Incremental detokenizing with stop strings: text is released only once it is final.

Decoding token by token is not decoding the whole: a multi-byte character may span tokens,
and SentencePiece tokenizers drop a leading space when a piece is decoded alone. So each
step decodes a short window of recent tokens and keeps only what that window adds (the
approach of vLLM's and TGI's detokenizers). Text that could still be the start of a stop
string is held back, so a streamed reply never shows text that the stop string removes.
"""

from __future__ import annotations

from typing import Any

_PARTIAL = "\ufffd"  # what a decoder returns for an incomplete UTF-8 sequence


class TextTail:
    """The text of one generation, fed token ids, handing out final text."""

    __slots__ = ("_emitted", "_ids", "_prefix", "_read", "_stop", "_tok", "stopped", "text")

    def __init__(self, tokenizer: Any, stop: tuple[str, ...] = ()) -> None:
        self._tok = tokenizer
        self._stop = stop
        self._ids: list[int] = []
        self._prefix = 0  # window start: earlier tokens are context only
        self._read = 0  # tokens already turned into text
        self._emitted = 0  # characters of `text` handed out
        self.text = ""
        self.stopped = False

    def push(self, token_id: int) -> str:
        """Add one token; return the text that became final (may be empty)."""
        if self.stopped:
            return ""
        self._ids.append(token_id)
        before = self._decode(self._ids[self._prefix : self._read])
        after = self._decode(self._ids[self._prefix :])
        if len(after) > len(before) and not after.endswith(_PARTIAL):
            self.text += after[len(before) :]
            self._prefix, self._read = self._read, len(self._ids)
        return self._release()

    def finish(self) -> str:
        """The generation ended: release everything held back."""
        if not self.stopped:
            before = self._decode(self._ids[self._prefix : self._read])
            after = self._decode(self._ids[self._prefix :])
            if len(after) > len(before):
                self.text += after[len(before) :]
                self._read = len(self._ids)
            self._cut_at_stop()
        out = self.text[self._emitted :]
        self._emitted = len(self.text)
        return out

    def _decode(self, ids: list[int]) -> str:
        if not ids:
            return ""
        text: str = self._tok.decode(ids, skip_special_tokens=True)
        return text

    def _cut_at_stop(self) -> None:
        if not self._stop:
            return
        longest = max(map(len, self._stop))
        start = max(0, self._emitted - longest + 1)
        hits = [i for s in self._stop if (i := self.text.find(s, start)) >= 0]
        if hits:
            self.text = self.text[: min(hits)]
            self.stopped = True

    def _release(self) -> str:
        self._cut_at_stop()
        end = len(self.text) if self.stopped else len(self.text) - self._held()
        out = self.text[self._emitted : end] if end > self._emitted else ""
        self._emitted = max(self._emitted, end)
        return out

    def _held(self) -> int:
        """Length of the longest end of `text` that begins some stop string."""
        best = 0
        for s in self._stop:
            for n in range(min(len(s) - 1, len(self.text)), best, -1):
                if self.text.endswith(s[:n]):
                    best = n
                    break
        return best
