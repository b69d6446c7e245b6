"""`LLM`: the model facade of the SDK (the seed's `model = LLM(spec)`).

Inside a process its calls are that process's system calls; outside any process they are
system calls of the default runtime's shell process. Either way they go through the kernel.
"""

from __future__ import annotations

from typing import Any

from llmagentos.kernel.context import MessagesLike, ProcessContext, SyncContext, current_context
from llmagentos.llm.types import LLMResponse
from llmagentos.sdk.runtime import default_runtime


class LLM:
    """A handle on one model, by spec (`openai:gpt-4o-mini`, a name the kernel knows, ...).

    `LLM()` means the kernel's default model. Options given here (temperature, max_tokens,
    stop, ...) apply to every call unless a call overrides them.
    """

    def __init__(self, spec: str | None = None, **options: Any) -> None:
        self.spec = spec
        self.options = options

    def _ctx(self) -> SyncContext:
        ctx = current_context.get()
        if isinstance(ctx, ProcessContext):
            raise RuntimeError(
                "this is an async agent: use `await model.agenerate_text(...)` / `achat`, which"
                " do not block the kernel's event loop"
            )
        if ctx is None:
            return default_runtime().shell()
        return ctx

    def _opts(self, overrides: dict[str, Any]) -> dict[str, Any]:
        merged = {**self.options, **overrides}
        if self.spec:
            merged.setdefault("model", self.spec)
        return merged

    def generate_text(self, text: str, max_length: int | None = None, **options: Any) -> str:
        """Answer `text` as a user message and return the reply's text."""
        if max_length is not None:
            options["max_tokens"] = max_length
        response: LLMResponse = self._ctx().chat(text, **self._opts(options))
        return response.text

    def chat(self, messages: MessagesLike, **options: Any) -> LLMResponse:
        """Chat (a string, a `Message` or a list of messages) and return the whole response."""
        response: LLMResponse = self._ctx().chat(messages, **self._opts(options))
        return response

    def generate(self, prompt: str, **options: Any) -> LLMResponse:
        """Raw completion of `prompt` (no chat template)."""
        response: LLMResponse = self._ctx().generate(prompt, **self._opts(options))
        return response

    def extract(self, messages: MessagesLike, shape: Any, /, **options: Any) -> Any:
        """A reply of type `shape` (a Pydantic model, `list[str]`, ...), validated; see
        `ProcessContext.extract`."""
        return self._ctx().extract(messages, shape, **self._opts(options))

    async def aextract(self, messages: MessagesLike, shape: Any, /, **options: Any) -> Any:
        """`extract` for async programs."""
        ctx = current_context.get()
        if not isinstance(ctx, ProcessContext):
            raise RuntimeError("aextract is for async programs running in a kernel: use extract")
        return await ctx.extract(messages, shape, **self._opts(options))

    async def achat(self, messages: MessagesLike, **options: Any) -> LLMResponse:
        """`chat` for async programs: a system call of the process it runs in."""
        ctx = current_context.get()
        if not isinstance(ctx, ProcessContext):
            where = "a sync program" if isinstance(ctx, SyncContext) else "no kernel process"
            raise RuntimeError(
                f"achat / agenerate_text are for async programs running in a kernel, and this"
                f" is {where}: use model.chat(...) / model.generate_text(...) instead"
            )
        return await ctx.chat(messages, **self._opts(options))

    async def agenerate_text(self, text: str, max_length: int | None = None, **options: Any) -> str:
        """`generate_text` for async programs."""
        if max_length is not None:
            options["max_tokens"] = max_length
        return (await self.achat(text, **options)).text

    def __repr__(self) -> str:
        return f"LLM({self.spec!r})"
