"""Where each sequence's KV lives, and the prefix cache built on it.

A sequence's KV is in one of three places: a batch row (running), a compact copy in the
store (preempted, or finished and parked for its agent's next turn), or nowhere (new, or
evicted: the engine recomputes it from the tokens, which the caller never notices).
Parked copies expire after `ttl_s`; when rows plus store pass `budget_bytes`, parked copies
go first (oldest first), then those of preempted sequences.

Prefix sharing: every holder's computed blocks are in `index`; a sequence taking a row first
reuses its own stored KV, else copies the longest matching prefix any holder has. A prompt
that a running sequence is about to compute (`pending`) is waited for rather than computed
twice, so N agents sharing a system prompt compute it once.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable

from llmagentos.llm.local.kvcache import KVLayout, KVPool, KVStore
from llmagentos.llm.local.prefix import PrefixIndex, block_hashes
from llmagentos.llm.local.sequence import Sequence, Status

_CANDIDATES = 4  # holders compared token by token per lookup


class KVManager:
    """Rows, stored copies, TTL and budget, and the prefix index over them."""

    def __init__(
        self,
        layout: KVLayout,
        rows: int,
        *,
        window: int,
        initial_cap: int,
        block: int,
        prefix_cache: bool,
        budget_bytes: int,
        ttl_s: float,
        clock: Callable[[], float],
    ) -> None:
        self.pool = KVPool(layout, rows, initial_cap, max_cap=window)
        self.store = KVStore()
        self.index = PrefixIndex(block)
        self.pending = PrefixIndex(block)
        self.prefix_cache = prefix_cache
        self.budget_bytes = budget_bytes
        self.ttl_s = ttl_s
        self.clock = clock
        self.holders: dict[int, Sequence] = {}  # sequences whose KV exists somewhere
        self.parked: OrderedDict[int, float] = OrderedDict()  # finished holders -> last use
        self.evictions = 0
        self._lineage = itertools.count(1)

    @property
    def nbytes(self) -> int:
        return self.pool.nbytes + self.store.nbytes

    # -- rows -------------------------------------------------------------------------------

    def attach(self, seq: Sequence) -> bool:
        """Give `seq` a row holding all the KV it can find; False leaves it waiting."""
        hashes = self._hashes(seq)
        if self.prefix_cache and seq.id not in self.store and self._should_wait(hashes):
            return False
        own = self.store.get(seq.id)
        if own is not None:
            row = self._alloc(None)
            if row is None:
                return False
            self.pool.load(row, own.kv, own.length)
            self.store.pop(seq.id)
            seq.row, seq.computed = row, own.length
        elif not self._take_prefix(seq, hashes):
            return False
        self.holders[seq.id] = seq
        self.pending.extend(seq.id, seq.tokens, len(seq.tokens))
        return True

    def detach(self, seq: Sequence, keep: bool) -> None:
        """Take `seq`'s row back; its KV goes to the store if `keep` (and worth keeping)."""
        assert seq.row is not None
        self.pending.remove(seq.id)
        if keep and seq.computed > 0:
            self.store.put(seq.id, self.pool.save(seq.row, seq.computed), seq.computed)
        else:
            self._unhold(seq)
        self.pool.free(seq.row)
        seq.row = None

    def park(self, seq: Sequence) -> None:
        """`seq` finished: keep its KV, in its row until the row is wanted, for reuse."""
        if self.prefix_cache and seq.computed >= self.index.block:
            self.pending.remove(seq.id)
            self.parked[seq.id] = self.clock()
        else:
            self.drop(seq)

    def drop(self, seq: Sequence) -> None:
        """Forget all of `seq`'s KV (cancelled, expired, or evicted while parked)."""
        if seq.row is not None:
            self.pool.free(seq.row)
            seq.row = None
        self._unhold(seq)

    def idle(self) -> None:
        """Nothing runs: move parked rows into the store and give the rows' memory back."""
        for seq_id in list(self.parked):
            holder = self.holders[seq_id]
            if holder.row is not None:
                self._stash(holder)
        self.pool.trim()

    # -- memory -----------------------------------------------------------------------------

    def expire(self) -> None:
        """Drop parked KV older than the TTL."""
        limit = self.clock() - self.ttl_s
        while self.parked:
            seq_id, used = next(iter(self.parked.items()))
            if used > limit:
                break
            self._evict(self.holders[seq_id])

    def fit(self, waiting: Iterable[Sequence]) -> None:
        """Evict until rows plus store fit the budget: parked copies first, then preempted."""
        if self.nbytes <= self.budget_bytes:
            return
        for seq_id in list(self.parked):  # parked rows cost nothing: the rows exist anyway
            if self.nbytes <= self.budget_bytes:
                return
            if seq_id in self.store:
                self._evict(self.holders[seq_id])
        for seq in sorted(waiting, key=lambda s: s.arrival, reverse=True):
            if self.nbytes <= self.budget_bytes:
                break
            if seq.id in self.store:
                self._evict(seq)

    def _alloc(self, keep: Sequence | None) -> int | None:
        """A free row, else the row of the least recently used parked sequence (not `keep`)."""
        row = self.pool.alloc()
        if row is not None:
            return row
        for seq_id in self.parked:
            holder = self.holders[seq_id]
            if holder.row is not None and holder is not keep:
                self._stash(holder)
                return self.pool.alloc()
        if keep is not None and keep.row is not None and keep.id in self.parked:
            # The only row to take holds the prefix to copy (one row in all): copy it
            # through the store instead of waiting for a row that never comes free.
            self._stash(keep)
            return self.pool.alloc()
        return None

    def _stash(self, holder: Sequence) -> None:
        """Move a parked sequence's KV from its row to the store (budget permitting)."""
        assert holder.row is not None
        self.store.put(holder.id, self.pool.save(holder.row, holder.computed), holder.computed)
        self.pool.free(holder.row)
        holder.row = None
        self.fit(())

    def _evict(self, seq: Sequence) -> None:
        self.evictions += 1
        self.drop(seq)
        seq.computed = 0  # a waiting sequence recomputes from its tokens when it runs again

    def _unhold(self, seq: Sequence) -> None:
        self.store.pop(seq.id)
        self.index.remove(seq.id)
        self.pending.remove(seq.id)
        self.parked.pop(seq.id, None)
        self.holders.pop(seq.id, None)

    # -- prefixes ---------------------------------------------------------------------------

    def _hashes(self, seq: Sequence) -> list[int]:
        have = len(seq.hashes)
        prev = seq.hashes[-1] if have else 0
        seq.hashes.extend(block_hashes(seq.tokens, self.index.block, have, prev))
        return seq.hashes

    def _should_wait(self, hashes: list[int]) -> bool:
        """True when a running sequence is computing more of this prompt than exists yet."""
        depth, _ = self.index.lookup(hashes)
        ahead, _ = self.pending.lookup(hashes)
        return ahead > depth

    def _limit(self, seq: Sequence) -> int:
        # Keep at least one token to compute: its logits give the next token (or score).
        return (seq.score_from or len(seq.tokens)) - 1

    def _take_prefix(self, seq: Sequence, hashes: list[int]) -> bool:
        """Give `seq` a row with the longest prefix any holder has; False: no row free."""
        best, n = self._best(seq, hashes) if self.prefix_cache else (None, 0)
        if best is not None and n > 0:
            seq.root, seq.root_len = best.root, min(n, best.root_len)
        else:
            seq.root, seq.root_len = next(self._lineage), 1 << 62
        parked_row = best is not None and best.id in self.parked and best.row is not None
        if parked_row and best is not None and n == best.computed:
            # The agent's next turn extends its last one: continue in the same row, no copy.
            seq.row, best.row = best.row, None
            self._unhold(best)
            seq.computed = n
            return True
        row = self._alloc(best)
        if row is None:
            return False
        if best is not None and best.row is None and best.id not in self.store:
            best, n = None, 0  # stashed and evicted by the budget on the way: recompute
            seq.root, seq.root_len = next(self._lineage), 1 << 62
        seq.row, seq.computed = row, n
        if best is None or n == 0:
            return True
        if best.row is not None:
            self.pool.copy(best.row, row, n)
        else:
            stored = self.store.get(best.id)
            assert stored is not None
            self.pool.load(row, stored.kv, n)
            if best.status is Status.DONE and n == stored.length:
                self._unhold(best)  # fully extended by its successor: move, not copy
        if best.id in self.parked:
            self.parked[best.id] = self.clock()
            self.parked.move_to_end(best.id)
        return True

    def _best(self, seq: Sequence, hashes: list[int]) -> tuple[Sequence | None, int]:
        """The holder sharing the longest prefix with `seq`, and how many tokens."""
        depth, holders = self.index.lookup(hashes)
        limit = self._limit(seq)
        best, best_len = None, 0
        for hid in reversed(holders[-_CANDIDATES:]):
            holder = self.holders.get(hid)
            if holder is None or holder.id == seq.id:
                continue
            n = self._match(seq, holder, min(depth * self.index.block, limit), limit)
            if n > best_len:
                best, best_len = holder, n
        return best, best_len

    def _match(self, seq: Sequence, holder: Sequence, blocks: int, limit: int) -> int:
        """Tokens `seq` shares with `holder`'s KV, trusting no hash without the tokens."""
        have = min(holder.computed, limit)
        if blocks > have or seq.tokens[:blocks] != holder.tokens[:blocks]:
            return 0
        n = blocks
        while n < have and seq.tokens[n] == holder.tokens[n]:
            n += 1
        return n
