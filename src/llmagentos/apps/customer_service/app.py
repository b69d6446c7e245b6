"""The customer desk: the seed's `CustomerServiceAgent`, with memory, tools and a person.

For each message the agent
1. asks the model for the message's intent (order_status, refund, cancel_order,
   complaint, greeting);
2. hands refunds and complaints to a person with `escalate_to_human`, a tool the app's
   policy marks "ask": the call waits until someone approves it (`llmagentos approvals`);
3. otherwise recalls the closest FAQ entries from long-term memory and lets a ReAct loop
   answer, looking orders up with `order_status` when the message names one.

The FAQ (`faq.json`) is remembered once, in the app's namespace, so every run (and every
other agent granted the namespace) recalls it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from llmagentos.errors import ApprovalRejected
from llmagentos.kernel.context import ProcessContext
from llmagentos.sdk.agent import AsyncAgent
from llmagentos.sdk.react import ReActAgent

FAQ = Path(__file__).with_name("faq.json")
NAMESPACE = "app/customer_service"
FAQ_NAMESPACE = f"{NAMESPACE}/faq"
INTENTS = ("order_status", "refund", "cancel_order", "complaint", "greeting")
ESCALATE = ("refund", "complaint")
_INTENT_WORD = re.compile("|".join(INTENTS))


async def load_faq(ctx: ProcessContext) -> int:
    """Remember the bundled FAQ in long-term memory unless this version is there already."""
    entries = json.loads(FAQ.read_text(encoding="utf-8"))
    version = f"{len(entries)}:{sum(len(e['q']) + len(e['a']) for e in entries)}"
    if await ctx.kv_get("faq_version", None, NAMESPACE) == version:
        return 0
    for entry in entries:
        await ctx.remember(
            f"Q: {entry['q']} A: {entry['a']}", {"kind": "faq"}, namespace=FAQ_NAMESPACE
        )
    await ctx.kv_put("faq_version", version, NAMESPACE)
    return len(entries)


def intent_prompt(message: str) -> str:
    return (
        "Classify the intent of this message as order_status, refund, cancel_order, complaint"
        f" or greeting.\nMessage: {message}"
    )


class CustomerServiceAgent(AsyncAgent):
    """Answers one customer message per observation (`{"text": ...}`)."""

    async def act(self, observation: dict[str, Any]) -> dict[str, Any]:
        ctx = self.ctx
        assert ctx is not None
        message = str(observation.get("text", "")).strip()
        reply = await ctx.chat(intent_prompt(message), max_tokens=8)
        found = _INTENT_WORD.search(reply.text.lower())
        intent = found.group(0) if found else "unknown"
        if intent in ESCALATE:
            return {"text": await self.escalate(message, intent), "intent": intent}
        hits = await ctx.recall(message, k=2, namespace=FAQ_NAMESPACE)
        context = " ".join(h.text for h in hits)
        task = f"Context: {context}\nQuestion: {message}" if context else message
        result = await ReActAgent(ctx, ["order_status"], max_steps=3, max_tokens=120).solve(task)
        answer = result.answer or "Sorry, I could not find an answer; a colleague will follow up."
        return {"text": answer, "intent": intent, "faq": [h.text for h in hits]}

    async def escalate(self, message: str, intent: str) -> str:
        ctx = self.ctx
        assert ctx is not None
        try:
            ticket = await ctx.tool(
                "escalate_to_human", summary=f"{intent}: {message[:80]}", customer_message=message
            )
        except ApprovalRejected:
            return "I could not hand this to a colleague right now; please write to us again."
        if not ticket.ok:
            return f"Something went wrong opening a ticket ({ticket.error})."
        return (
            f"I have passed this to a colleague (ticket #{ticket.output['ticket']}); they will"
            " get back to you within one working day."
        )


async def main(ctx: ProcessContext, questions: list[str]) -> dict[str, Any]:
    """Load the FAQ, then let a desk agent process answer `questions`."""
    loaded = await load_faq(ctx)
    pid = await ctx.spawn(CustomerServiceAgent, {"inputs": list(questions)}, name="desk")
    status = await ctx.wait(pid)
    if status.state != "done":
        raise RuntimeError(f"the desk agent ended {status.state}: {status.error}")
    answers = [{"question": q, **r} for q, r in zip(questions, status.result, strict=True)]
    return {"answers": answers, "faq_loaded": loaded}
