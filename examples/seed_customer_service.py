"""The seed's customer-service example, as written there, running on llmagentos.

`LLM(...)` and `Agent.act` are the seed's API. Here the model is an offline rule-based
double so the example runs anywhere; point `LLM` at a real model with a spec such as
`LLM("openai:gpt-4o-mini")` or `LLM("openai:llama3@http://localhost:11434/v1")`.
"""

from __future__ import annotations

from llmagentos import LLM, Agent, Runtime
from llmagentos.sdk.runtime import set_default_runtime
from llmagentos.testing import FunctionModel


def faq_model(messages, request) -> str:
    question = messages[-1].content.lower()
    if "refund" in question:
        return "Refunds are paid within 5 working days of the return arriving."
    if "order" in question:
        return "You can track your order under My Orders; it ships within 24 hours."
    return "A colleague will get back to you within one working day."


model = LLM("faq")


class CustomerServiceAgent(Agent):
    def __init__(self):
        super().__init__()

    def act(self, observation):
        user_input = observation["text"]
        response = model.generate_text(user_input)
        return {"text": response}


def main(state_dir: str = ".llmagentos/examples") -> list[dict]:
    runtime = Runtime(state_dir=state_dir, models={"faq": FunctionModel(faq_model, name="faq")})
    set_default_runtime(runtime.start())
    try:
        agent = CustomerServiceAgent()
        return agent.run(["Where is my order?", "How do refunds work?"])
    finally:
        runtime.stop()
        set_default_runtime(None)


if __name__ == "__main__":
    for reply in main():
        print(reply["text"])
