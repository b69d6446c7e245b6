"""A news stream scored by one agent and watched by another, all on pub/sub topics.

- The *feed* (the app's process) publishes news items on `news`.
- The *analyst* subscribes to `news`, labels each headline and publishes the scored item
  on `sentiment`. It labels with the `news_sentiment` tool (a classifier head on the
  pretrained sentence encoder, the seeds' classifier agent) or, with `method="model"`, by
  asking the language model for one of the three labels. `"auto"` (the default) takes the
  classifier where its encoder is installed: the built-in language model knows only its
  corpus's words and labels company news poorly (2 of the 7 sample headlines).
- The *alerter* subscribes to `sentiment`, keeps a running score per company and, when
  an item about the watched company is negative, publishes an alert on `alerts` and
  keeps it in the app's storage.
Each agent holds only the topics it needs; a crash mid-stream loses no item.
"""

from __future__ import annotations

import re
from typing import Any

from llmagentos.apps.sentiment_monitor import scoring
from llmagentos.errors import InvalidArgument
from llmagentos.kernel.context import ProcessContext
from llmagentos.kernel.syscalls import Capabilities

END = {"type": "end"}
SCORES = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}
NAMESPACE = "app/sentiment_monitor"
_LABEL = re.compile("|".join(SCORES))

NEWS = [  # the sample feed; `label` is what a careful reader would say, to check against
    {
        "company": "ACME",
        "headline": "ACME posts record profits as demand for robots grows",
        "label": "positive",
    },
    {
        "company": "Globex",
        "headline": "Globex shares rise after strong quarter",
        "label": "positive",
    },
    {
        "company": "ACME",
        "headline": "ACME recalls 40,000 vacuum robots over battery fires",
        "label": "negative",
    },
    {
        "company": "Initech",
        "headline": "Initech moves its headquarters to Austin",
        "label": "neutral",
    },
    {
        "company": "ACME",
        "headline": "ACME shares plunge as regulators open a probe",
        "label": "negative",
    },
    {"company": "Globex", "headline": "Globex faces lawsuit over data leak", "label": "negative"},
    {"company": "ACME", "headline": "ACME names a new chief financial officer", "label": "neutral"},
]


def sentiment_prompt(headline: str) -> str:
    return f"Sentiment of this text, positive, negative or neutral: {headline}"


METHODS = ("auto", "classifier", "model")


async def label_with_model(ctx: ProcessContext, headline: str) -> str:
    """The model's label (its reply is guided to one of the three)."""
    choice = {"type": "choice", "choices": list(SCORES)}
    reply = await ctx.chat(sentiment_prompt(headline), max_tokens=8, response_format=choice)
    found = _LABEL.search(reply.text.lower())
    return found.group(0) if found else "neutral"


async def label_with_classifier(ctx: ProcessContext, headline: str) -> str:
    result = await ctx.tool("news_sentiment", headline=headline)
    if not result.ok:
        raise InvalidArgument(f"the news_sentiment tool failed: {result.error}")
    return str(result.output["label"])


async def analyst(ctx: ProcessContext, feed: int, method: str = "model") -> list[str]:
    """Label every news item (`method`: "classifier" or "model"); publish it on
    `sentiment`; returns the labels in order."""
    await ctx.subscribe("news")
    await ctx.send(feed, "ready")
    labels: list[str] = []
    label_of = label_with_classifier if method == "classifier" else label_with_model
    while True:
        env = await ctx.receive(timeout=120, topic="news")
        if env is None or env.payload == END:
            await ctx.publish("sentiment", END)
            return labels
        label = await label_of(ctx, env.payload["headline"])
        await ctx.publish("sentiment", {**env.payload, "label": label, "score": SCORES[label]})
        labels.append(label)


async def alerter(ctx: ProcessContext, feed: int, watch: str) -> list[dict[str, Any]]:
    """Raise an alert for each negative item about `watch`; returns the alerts."""
    await ctx.subscribe("sentiment")
    await ctx.send(feed, "ready")
    totals: dict[str, list[float]] = {}
    alerts: list[dict[str, Any]] = []
    while True:
        env = await ctx.receive(timeout=120, topic="sentiment")
        if env is None or env.payload == END:
            await ctx.kv_put("alerts", alerts, NAMESPACE)
            return alerts
        item = env.payload
        history = totals.setdefault(item["company"], [])
        history.append(item["score"])
        if item["company"] == watch and item["label"] == "negative":
            alert = {
                "company": watch,
                "headline": item["headline"],
                "running_score": round(sum(history) / len(history), 2),
            }
            alerts.append(alert)
            await ctx.publish("alerts", alert)
            ctx.log(f"ALERT {watch}: {item['headline']}")


def choose_method(method: str) -> str:
    """`method` resolved: "auto" is the classifier where it can run, else the model."""
    if method not in METHODS:
        raise InvalidArgument(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "auto":
        return "classifier" if scoring.available() else "model"
    return method


async def main(
    ctx: ProcessContext,
    watch: str = "ACME",
    items: list[dict[str, str]] | None = None,
    method: str = "auto",
) -> dict[str, Any]:
    """Stream `items` (sample news when not given) past the analyst and the alerter."""
    news = items if items is not None else NEWS
    method = choose_method(method)
    back = (str(ctx.pid),)
    a_pid = await ctx.spawn(
        alerter,
        {"feed": ctx.pid, "watch": watch},
        name="alerter",
        capabilities=Capabilities(
            tools=(), spawn=False, peers=back, topics=("sentiment", "alerts")
        ),
    )
    s_pid = await ctx.spawn(
        analyst,
        {"feed": ctx.pid, "method": method},
        name="analyst",
        capabilities=Capabilities(
            tools=("news_sentiment",) if method == "classifier" else (),
            spawn=False,
            peers=back,
            topics=("news", "sentiment"),
        ),
    )
    for _ in range(2):  # both have subscribed: nothing published from here on is missed
        await ctx.receive(timeout=60)
    for item in news:
        await ctx.publish("news", {k: v for k, v in item.items() if k != "label"})
    await ctx.publish("news", END)
    labels = (await ctx.wait(s_pid)).result
    alerts = (await ctx.wait(a_pid)).result
    # items that carry a reference label (the sample feed does): how many the model matched
    checked = [(i["label"], got) for i, got in zip(news, labels, strict=False) if "label" in i]
    return {
        "watch": watch,
        "method": method,
        "scored": len(labels),
        "labels": {label: labels.count(label) for label in SCORES},
        "alerts": alerts,
        "agreement": [sum(want == got for want, got in checked), len(checked)],
    }
