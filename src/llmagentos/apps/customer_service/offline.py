"""The customer desk's offline double: keyword rules in the shapes the agent expects.

Not a language model. It classifies intents by keywords, calls `order_status` (in the
ReAct JSON format) when a message names an order, turns the tool's answer into a reply,
and otherwise answers with the first FAQ answer in the context it was given.
"""

from __future__ import annotations

import json
import re

from llmagentos.llm.types import LLMRequest, Message
from llmagentos.testing import FunctionModel

ORDER_ID = re.compile(r"\b[A-Z]-\d{4}\b")
_KEYWORDS = (  # checked in order: the first intent with a matching word wins
    ("refund", ("refund", "money back")),
    ("cancel_order", ("cancel",)),
    ("complaint", ("broken", "rude", "unhappy", "terrible", "complain", "disappointed")),
    ("greeting", ("hello", "hi ", "good morning", "good evening")),
)


def intent_of(message: str) -> str:
    low = message.lower()
    for intent, words in _KEYWORDS:
        if any(w in low for w in words):
            return intent
    return "order_status"


def _faq_answer(task: str) -> str | None:
    found = re.search(r"A: (.+?)(?= Q: |\nQuestion:|$)", task, re.DOTALL)
    return found.group(1).strip() if found else None


def answer(messages: tuple[Message, ...], request: LLMRequest) -> str:
    last = messages[-1]
    if last.role == "tool":
        try:
            order = json.loads(last.content)
            text = (
                f"Order {order['order_id']} is {order['status']}."
                f" Expected delivery: {order['eta']}."
            )
        except (json.JSONDecodeError, KeyError, TypeError):
            text = "I could not find that order; please check the order id (like K-4471)."
        return json.dumps({"answer": text})
    if last.content.startswith("Classify the intent"):
        return intent_of(last.content.partition("Message:")[2])
    question = last.content.rpartition("Question:")[2] or last.content
    order = ORDER_ID.search(question)
    if order:
        return json.dumps({"tool": "order_status", "arguments": {"order_id": order.group(0)}})
    reply = _faq_answer(last.content) or "I am not sure about that; a colleague will follow up."
    return json.dumps({"answer": reply})


def model() -> FunctionModel:
    return FunctionModel(answer, name="customer-service-offline")
