"""Recommendations from a user's history kept in long-term memory.

1. The catalog (`catalog.json`) is remembered once in `app/recommender/catalog`.
2. What the user liked is remembered in `app/recommender/users/<user>`: their profile
   lives in memory, so it grows across runs and other agents granted it can read it.
3. The profile is recalled, and the catalog is searched (recall) for items like it.
4. The model picks the best `k` of those candidates and says why, one line each
   (`<id>: <reason>`). The reply is guided to that shape (`response_format` `picks`,
   `llm.guides`): each line must begin with a different candidate's id and give one of
   the reasons that hold for it (a tag it shares with an item the user liked: `reasons`),
   so the model chooses the items and the reasons, and cannot misspell an id or invent a
   reason. Its choice is only as good as the model: measured on held-out prompts in
   BENCHMARKS.md (the built-in model's is no better than chance). A model that ignores
   the format may still name items that are not candidates: those are ignored, and picks
   it leaves out are filled from the search order. Each recommendation says which it is (`"by":
   "model"` or `"search"`), so a weak model's part is not passed off as its own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from llmagentos.errors import InvalidArgument
from llmagentos.kernel.context import ProcessContext

CATALOG = Path(__file__).with_name("catalog.json")
NAMESPACE = "app/recommender"
CATALOG_NAMESPACE = f"{NAMESPACE}/catalog"
_PICK = re.compile(r"^\W*([a-z0-9-]+)\s*:\s*(.+)$", re.MULTILINE)


def catalog() -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in json.loads(CATALOG.read_text(encoding="utf-8"))}


def describe(item: dict[str, Any]) -> str:
    return f"{item['title']}: {item['description']} ({', '.join(item['tags'])})"


async def load_catalog(ctx: ProcessContext, items: dict[str, dict[str, Any]]) -> int:
    """Remember the catalog unless this version is in memory already."""
    version = f"{len(items)}:{sum(len(describe(i)) for i in items.values())}"
    if await ctx.kv_get("catalog_version", None, NAMESPACE) == version:
        return 0
    for item in items.values():
        await ctx.remember(describe(item), {"item": item["id"]}, namespace=CATALOG_NAMESPACE)
    await ctx.kv_put("catalog_version", version, NAMESPACE)
    return len(items)


async def remember_history(
    ctx: ProcessContext, user: str, history: list[str], items: dict[str, dict[str, Any]]
) -> list[str]:
    """Add the items in `history` the user's memory does not hold yet; returns all liked ids."""
    unknown = [h for h in history if h not in items]
    if unknown:
        raise InvalidArgument(f"not in the catalog: {unknown}; known ids: {sorted(items)[:8]}...")
    key = f"users/{user}/liked"
    liked: list[str] = list(await ctx.kv_get(key, [], NAMESPACE))
    for item_id in history:
        if item_id not in liked:
            text = f"{user} liked {describe(items[item_id])}"
            await ctx.remember(text, {"item": item_id}, namespace=f"{NAMESPACE}/users/{user}")
            liked.append(item_id)
    await ctx.kv_put(key, liked, NAMESPACE)
    return liked


def prompt(user: str, profile: list[str], candidates: list[dict[str, Any]], k: int) -> str:
    lines = "\n".join(f"- {c['id']} | {describe(c)}" for c in candidates)
    return (
        f"{user} liked:\n" + "\n".join(f"- {p}" for p in profile) + f"\nCandidates:\n{lines}\n"
        f"Recommend the best {k} candidates for {user}. Answer with one line per pick:"
        " <id>: <one-sentence reason>."
    )


def reasons(user: str, item: dict[str, Any], liked: list[dict[str, Any]]) -> list[str]:
    """The reasons a pick of `item` may give: each tag it shares with an item the user
    liked (`<tag> like <title>, which <user> liked.`), so whichever the model chooses is
    true; an item that shares none is only said to be new to them."""
    shared = [
        f" {tag} like {other['title']}, which {user} liked."
        for other in liked
        for tag in item["tags"]
        if tag in other["tags"]
    ]
    return shared or [f" {item['tags'][0]}, something new for {user}."]


async def main(ctx: ProcessContext, user: str, history: list[str], k: int = 3) -> dict[str, Any]:
    """Record `history` for `user`, then recommend `k` items they have not seen."""
    if not re.fullmatch(r"[a-z0-9_-]{1,40}", user):
        raise InvalidArgument("user must be 1-40 lowercase letters, digits, '_' or '-'")
    items = catalog()
    await load_catalog(ctx, items)
    liked = await remember_history(ctx, user, history, items)
    memories = await ctx.recall(f"{user} liked", k=50, namespace=f"{NAMESPACE}/users/{user}")
    profile = [m.text.removeprefix(f"{user} liked ") for m in memories]
    query = " ".join(describe(items[i]) for i in liked)
    hits = await ctx.recall(query, k=len(items), namespace=CATALOG_NAMESPACE)
    ranked = [h.metadata["item"] for h in hits if h.metadata and h.metadata["item"] not in liked]
    # recall leaves out items with nothing in common; they rank after the ones it found
    ranked += [i for i in items if i not in liked and i not in ranked]
    candidates = [items[i] for i in ranked[: max(2 * k, k + 2)]]
    liked_items = [items[i] for i in liked]
    fmt = {
        "type": "picks",
        "choices": [f"{c['id']}:" for c in candidates],
        "count": k,
        "texts": {f"{c['id']}:": reasons(user, c, liked_items) for c in candidates},
    }
    reply = await ctx.chat(
        prompt(user, profile, candidates, k), max_tokens=60 * k, response_format=fmt
    )
    picks: dict[str, tuple[str, str]] = {}
    for item_id, reason in _PICK.findall(reply.text):
        if item_id in {c["id"] for c in candidates} and len(picks) < k:
            picks.setdefault(item_id, (reason.strip(), "model"))
    for c in candidates:  # the model named too few: fill in the search order
        if len(picks) >= k:
            break
        picks.setdefault(c["id"], ("similar to what you liked", "search"))
    recs = [
        {"id": i, "title": items[i]["title"], "reason": r, "by": by} for i, (r, by) in picks.items()
    ]
    return {
        "user": user,
        "liked": [items[i]["title"] for i in liked],
        "candidates": len(candidates),  # what the memory search offered the model
        "recommendations": recs,
    }
