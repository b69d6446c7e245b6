"""Prefix index: which sequences hold the KV state of which token prefixes.

Tokens are cut into blocks of `block` tokens and each block is named by a hash chained over
every block before it (as vLLM names its cache blocks), so equal hashes mean equal prefixes
(the engine still compares the tokens before it trusts a match). A holder is any sequence
whose KV is kept: running, preempted, or finished and parked for its agent's next turn.
The index only names holders; the KV itself lives in `kvcache`.
"""

from __future__ import annotations

from collections.abc import Sequence


def block_hashes(tokens: Sequence[int], block: int, start: int = 0, prev: int = 0) -> list[int]:
    """Chained hashes of the full blocks of `tokens` from block index `start`.

    `prev` is the hash of block `start - 1` (0 for the first block).
    """
    out: list[int] = []
    for i in range(start * block, len(tokens) - block + 1, block):
        prev = hash((prev, tuple(tokens[i : i + block])))
        out.append(prev)
    return out


class PrefixIndex:
    """Chained block hash -> holders whose KV covers that prefix, newest last."""

    def __init__(self, block: int = 16) -> None:
        if block < 1:
            raise ValueError(f"block must be >= 1, not {block}")
        self.block = block
        self._holders: dict[int, dict[int, None]] = {}  # hash -> ordered set of holder ids
        self._blocks: dict[int, list[int]] = {}  # holder -> its hashes, in order

    def __len__(self) -> int:
        return len(self._blocks)

    def covered(self, holder: int) -> int:
        """How many tokens of `holder` the index knows (a multiple of `block`)."""
        return len(self._blocks.get(holder, ())) * self.block

    def extend(self, holder: int, tokens: Sequence[int], computed: int) -> None:
        """Record that `holder` has KV for `tokens[:computed]` (only full blocks count)."""
        mine = self._blocks.setdefault(holder, [])
        have = len(mine)
        if (have + 1) * self.block > computed:
            return
        new = block_hashes(tokens[:computed], self.block, have, mine[-1] if mine else 0)
        for h in new:
            self._holders.setdefault(h, {})[holder] = None
        mine.extend(new)

    def truncate(self, holder: int, computed: int) -> None:
        """`holder` now only has KV for its first `computed` tokens."""
        mine = self._blocks.get(holder)
        keep = computed // self.block
        if not mine or len(mine) <= keep:
            return
        for h in mine[keep:]:
            self._drop(h, holder)
        del mine[keep:]

    def remove(self, holder: int) -> None:
        """Forget every block of `holder`."""
        for h in self._blocks.pop(holder, ()):
            self._drop(h, holder)

    def lookup(self, hashes: Sequence[int]) -> tuple[int, tuple[int, ...]]:
        """The most leading blocks of `hashes` some holder covers, and those holders."""
        depth, found = 0, None
        for h in hashes:
            holders = self._holders.get(h)
            if not holders:
                break
            depth, found = depth + 1, holders
        return depth, tuple(found) if found else ()

    def _drop(self, h: int, holder: int) -> None:
        holders = self._holders.get(h)
        if holders is not None:
            holders.pop(holder, None)
            if not holders:
                del self._holders[h]
