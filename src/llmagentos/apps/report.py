"""The demo's HTML report: one self-contained page, plots drawn as inline SVG.

No plotting library is needed (nothing to install, nothing fetched by the browser): the
two bar charts — tokens per agent, model-call latency per agent — are a few SVG rects.
"""

from __future__ import annotations

import html
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from llmagentos.kernel.process import ProcessInfo


@dataclass(frozen=True, slots=True)
class AgentRow:
    """One process as the report shows it."""

    pid: int
    name: str
    parent: int | None
    state: str
    tokens_in: int
    tokens_out: int
    llm_calls: int
    tool_calls: int
    syscalls: int
    p50_ms: float
    p95_ms: float
    wall_s: float

    @classmethod
    def of(cls, p: ProcessInfo, latencies_s: list[float]) -> AgentRow:
        ms = sorted(x * 1000 for x in latencies_s)
        p50 = statistics.median(ms) if ms else 0.0
        p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))] if ms else 0.0
        u = p.usage
        wall = (p.ended_at or p.started_at or 0.0) - (p.started_at or 0.0)
        return cls(
            p.pid,
            p.name,
            p.parent,
            p.state,
            u.tokens_in,
            u.tokens_out,
            u.llm_calls,
            u.tool_calls,
            u.syscalls,
            p50,
            p95,
            max(0.0, wall),
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# -- SVG bar charts -----------------------------------------------------------------------

_W, _BAR, _GAP, _LABEL = 720, 18, 6, 170


def _bars(title: str, rows: list[tuple[str, list[tuple[float, str, str]]]], unit: str) -> str:
    """Horizontal bars: for each row, segments (value, colour, tooltip) stacked left to right."""
    top = max((sum(v for v, _, _ in segs) for _, segs in rows), default=0.0) or 1.0
    scale = (_W - _LABEL - 90) / top
    height = 30 + len(rows) * (_BAR + _GAP)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}"'
        f' role="img" aria-label="{html.escape(title)}">',
        f'<text x="0" y="16" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i, (label, segs) in enumerate(rows):
        y = 28 + i * (_BAR + _GAP)
        out.append(
            f'<text x="{_LABEL - 8}" y="{y + 13}" text-anchor="end">{html.escape(label)}</text>'
        )
        x = float(_LABEL)
        for value, colour, tip in segs:
            w = value * scale
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{_BAR}" fill="{colour}">'
                f"<title>{html.escape(tip)}</title></rect>"
            )
            x += w
        total = sum(v for v, _, _ in segs)
        out.append(f'<text x="{x + 6:.1f}" y="{y + 13}">{total:,.0f} {unit}</text>')
    out.append("</svg>")
    return "\n".join(out)


def token_chart(agents: list[AgentRow]) -> str:
    rows = [
        (
            f"{a.name} ({a.pid})",
            [
                (float(a.tokens_in), "#6c8ebf", f"{a.tokens_in} prompt tokens"),
                (float(a.tokens_out), "#d79b00", f"{a.tokens_out} generated tokens"),
            ],
        )
        for a in agents
        if a.tokens_in + a.tokens_out
    ]
    return _bars("Tokens per agent (blue: prompt, orange: generated)", rows, "tokens")


def latency_chart(agents: list[AgentRow]) -> str:
    rows = [
        (
            f"{a.name} ({a.pid})",
            [
                (a.p50_ms, "#82b366", f"median {a.p50_ms:.0f} ms over {a.llm_calls} calls"),
                (max(0.0, a.p95_ms - a.p50_ms), "#b85450", f"p95 {a.p95_ms:.0f} ms"),
            ],
        )
        for a in agents
        if a.llm_calls
    ]
    return _bars("Model-call latency per agent (green: median, red: up to p95)", rows, "ms")


# -- the page -----------------------------------------------------------------------------

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222 }
table { border-collapse: collapse; margin: 1em 0 }
td, th { border-bottom: 1px solid #ddd; padding: .25em .7em; text-align: right }
td:nth-child(2), th:nth-child(2), td.l { text-align: left }
.ok { color: #2a7d2a } .bad { color: #b02020 } .note { background: #fff6d5; padding: .5em }
svg text { font: 12px system-ui, sans-serif }
"""


def write_html(
    path: Path,
    model: str,
    apps: list[tuple[str, str, str]],
    agents: list[AgentRow],
    seconds: float,
    notes: list[str],
) -> Path:
    """Write the report page to `path` and return it."""
    e = html.escape
    app_rows = "\n".join(
        f'<tr><td class="{"ok" if state == "done" else "bad"}">{"✓" if state == "done" else "✗"}'
        f'</td><td class="l"><b>{e(name)}</b></td><td class="l">{e(line)}</td></tr>'
        for name, state, line in apps
    )
    agent_rows = "\n".join(
        f"<tr><td>{a.pid}</td><td>{e(a.name)}</td><td>{a.parent or ''}</td>"
        f'<td class="l">{e(a.state)}</td><td>{a.tokens_in}</td><td>{a.tokens_out}</td>'
        f"<td>{a.llm_calls}</td><td>{a.p50_ms:.0f}</td><td>{a.p95_ms:.0f}</td>"
        f"<td>{a.tool_calls}</td><td>{a.syscalls}</td><td>{a.wall_s:.2f}</td></tr>"
        for a in agents
    )
    notes_html = "".join(f'<p class="note">{e(n)}</p>' for n in notes)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>llmagentos demo report</title>
<style>{_STYLE}</style></head><body>
<h1>llmagentos demo</h1>
<p>{len(apps)} apps, {len(agents)} processes on one kernel, model <b>{e(model)}</b>,
{seconds:.1f} s.</p>
{notes_html}
<h2>Apps</h2>
<table>{app_rows}</table>
<h2>Agents</h2>
{token_chart(agents)}
{latency_chart(agents)}
<table><tr><th>pid</th><th>name</th><th>parent</th><th>state</th><th>tokens in</th>
<th>tokens out</th><th>model calls</th><th>p50 ms</th><th>p95 ms</th><th>tool calls</th>
<th>syscalls</th><th>wall s</th></tr>
{agent_rows}</table>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
