"""The chat format of models this stack trains, as a Jinja chat template saved with them.

```
<|system|>...<|end|><|user|>...<|end|><|assistant|>{"tool": ...}<|end|><|tool|>...<|end|>
```

Assistant turns sit in `{% generation %}` blocks, so `apply_chat_template(...,
return_assistant_tokens_mask=True)` marks exactly the tokens fine-tuning learns from. A tool
call stored as `tool_calls` (no text) is written back as the ReAct JSON the model produced;
tools passed to the template with no system message get the ReAct agent's system prompt.
"""

from __future__ import annotations

from llmagentos.sdk.react import DEFAULT_SYSTEM

END = "<|end|>"
PAD = "<|pad|>"
ROLES = ("system", "user", "assistant", "tool")
ROLE_TOKENS = tuple(f"<|{role}|>" for role in ROLES)
SPECIAL_TOKENS = (PAD, END, *ROLE_TOKENS)
"""Special tokens of a chat tokenizer, in id order (pad is 0, end is 1)."""

_SYSTEM_HEAD, _, _SYSTEM_TAIL = DEFAULT_SYSTEM.partition("{tools}")

CHAT_TEMPLATE = (
    "{%- if tools and (not messages or messages[0].role != 'system') -%}"
    "<|system|>{% raw %}" + _SYSTEM_HEAD + "{% endraw %}"
    "{% for t in tools -%}"
    "{%- set f = t.function if t.function is defined else t -%}"
    "- {{ f.name }}: {{ f.description }} arguments schema: {{ f.parameters | tojson }}"
    "{%- if not loop.last %}{{ '\\n' }}{% endif -%}"
    "{%- endfor -%}"
    "{% raw %}" + _SYSTEM_TAIL + "{% endraw %}<|end|>"
    "{%- endif -%}"
    "{%- for m in messages -%}"
    "{%- if m.role == 'assistant' -%}"
    "<|assistant|>{% generation %}"
    "{%- if m.content -%}{{ m.content }}"
    "{%- elif m.tool_calls -%}"
    "{%- if m.tool_calls | length > 1 %}[{% endif -%}"
    "{%- for c in m.tool_calls -%}"
    "{%- set f = c.function if c.function is defined else c -%}"
    '{"tool": {{ f.name | tojson }}, "arguments": '
    "{%- if f.arguments is string %} {{ f.arguments }}{% else %} {{ f.arguments | tojson }}"
    "{%- endif %}}"
    "{%- if not loop.last %}, {% endif -%}"
    "{%- endfor -%}"
    "{%- if m.tool_calls | length > 1 %}]{% endif -%}"
    "{%- endif -%}"
    "<|end|>{% endgeneration %}"
    "{%- else -%}"
    "<|{{ m.role }}|>{{ m.content }}<|end|>"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|assistant|>{%- endif -%}"
)
"""The Jinja chat template (Hugging Face conventions: `messages`, `tools`,
`add_generation_prompt`)."""
