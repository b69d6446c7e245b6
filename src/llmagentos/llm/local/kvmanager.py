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

    @property
    def nbytes(self) -> int:
        return self.pool.nbytes + self.store.nbytes

    # -- rows -------------------------------------------------------------------------------

    def attach(self, seq: Sequence) -> bool:
        """Give `seq` a row holding all the KV it can find; False leaves it waiting."""
        hashes = self._hashes(seq)
        if self.prefix_cache and seq.id not in self.store and self._should_wait(hashes):
            return False
        row = self.pool.alloc()
        if row is None:
            return False
        seq.row = row
        own = self.store.pop(seq.id)
        if own is not None:
            self.pool.load(row, own.kv, own.length)
            seq.computed = own.length
        else:
            seq.computed = 0
            if self.prefix_cache:
                seq.computed = self._copy_prefix(seq, hashes)
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
        """`seq` finished: keep its KV for reuse (or drop it when the cache is off)."""
        keep = self.prefix_cache and seq.computed >= self.index.block
        if seq.row is not None:
            self.detach(seq, keep)
        if keep and seq.id in self.store:
            self.parked[seq.id] = self.clock()
            self.fit(())
        else:
            self._unhold(seq)

    def drop(self, seq: Sequence) -> None:
        """Forget all of `seq`'s KV (cancelled, expired, or evicted while parked)."""
        if seq.row is not None:
            self.detach(seq, keep=False)
        self._unhold(seq)

    # -- memory -----------------------------------------------------------------------------

    def expire(self) -> None:
        """Drop parked copies older than the TTL."""
        limit = self.clock() - self.ttl_s
        while self.parked:
            seq_id, used = next(iter(self.parked.items()))
            if used > limit:
                break
            self._evict(self.holders[seq_id])

    def fit(self, waiting: Iterable[Sequence]) -> None:
        """Evict until rows plus store fit the budget: parked first, then preempted KV."""
        if self.nbytes <= self.budget_bytes:
            return
        while self.parked and self.nbytes > self.budget_bytes:
            self._evict(self.holders[next(iter(self.parked))])
        for seq in sorted(waiting, key=lambda s: s.arrival, reverse=True):
            if self.nbytes <= self.budget_bytes:
                break
            if seq.id in self.store:
                self._evict(seq)

    def _evict(self, seq: Sequence) -> None:
        self.evictions += 1
        self._unhold(seq)
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

    def _copy_prefix(self, seq: Sequence, hashes: list[int]) -> int:
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
        if best is None or best_len == 0:
            return 0
        assert seq.row is not None
        if best.row is not None:
            self.pool.copy(best.row, seq.row, best_len)
        else:
            stored = self.store.get(best.id)
            assert stored is not None
            self.pool.load(seq.row, stored.kv, best_len)
            if best.status is Status.DONE and best_len == stored.length:
                self._unhold(best)  # fully extended by its successor: move, not copy
            elif best.id in self.parked:
                self.parked[best.id] = self.clock()
                self.parked.move_to_end(best.id)
        return best_len

    def _match(self, seq: Sequence, holder: Sequence, blocks: int, limit: int) -> int:
        """Tokens `seq` shares with `holder`'s KV, trusting no hash without the tokens."""
        have = min(holder.computed, limit)
        if blocks > have or seq.tokens[:blocks] != holder.tokens[:blocks]:
            return 0
        n = blocks
        while n < have and seq.tokens[n] == holder.tokens[n]:
            n += 1
        return n
