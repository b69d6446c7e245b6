"""Messages: send to a process, read the key's mailbox, publish and subscribe to topics.

The key's operator process is the sender and the mailbox owner, so agents see API
clients as ordinary peers (`ctx.reply` to a message from the API reaches this mailbox),
and the key's `peers` and `topics` capabilities apply.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from llmagentos import records
from llmagentos.kernel.syscalls import Envelope, Publish, Receive, Send, Subscribe, Unsubscribe
from llmagentos.server import schemas as s
from llmagentos.server.deps import OperateKey, State, operator_call
from llmagentos.server.routes.common import ERRORS, StrictRoute

router = APIRouter(prefix="/api", tags=["messages"], responses=ERRORS, route_class=StrictRoute)

Topic = Annotated[str, Path(min_length=1, max_length=200)]


@router.post("/messages", response_model=s.MessageId, summary="Send a message to a process")
async def send(body: s.SendRequest, st: State, key: OperateKey) -> s.MessageId:
    mid = await operator_call(st, key, Send(body.to, body.payload))
    return s.MessageId(id=int(mid))


@router.get("/mailbox", response_model=s.MailboxResponse, summary="Take the next message")
async def receive(
    st: State,
    key: OperateKey,
    timeout: Annotated[float, Query(ge=0, le=30, description="Seconds to wait")] = 0.0,
    topic: Annotated[str | None, Query(max_length=200)] = None,
    sender: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> s.MailboxResponse:
    """Take (consume) the oldest message sent to this key, waiting up to `timeout`."""
    env = await operator_call(st, key, Receive(timeout, topic, sender))
    return s.MailboxResponse(message=_envelope(env) if env is not None else None)


@router.post(
    "/topics/{topic}/publish", response_model=s.PublishResponse, summary="Publish to a topic"
)
async def publish(
    topic: Topic, body: s.PublishRequest, st: State, key: OperateKey
) -> s.PublishResponse:
    delivered = await operator_call(st, key, Publish(topic, body.payload))
    return s.PublishResponse(delivered=int(delivered))


@router.post("/topics/{topic}/subscribe", status_code=204, summary="Subscribe the key's mailbox")
async def subscribe(topic: Topic, st: State, key: OperateKey) -> None:
    await operator_call(st, key, Subscribe(topic))


@router.post("/topics/{topic}/unsubscribe", status_code=204, summary="Stop a subscription")
async def unsubscribe(topic: Topic, st: State, key: OperateKey) -> None:
    await operator_call(st, key, Unsubscribe(topic))


def _envelope(env: Envelope) -> s.EnvelopeOut:
    return s.EnvelopeOut(
        id=env.id,
        sender=env.sender,
        recipient=env.recipient,
        payload=records.encode(env.payload),  # agents may send records: plain JSON here
        topic=env.topic,
        reply_to=env.reply_to,
        correlation=env.correlation,
        sent_at=env.sent_at,
    )
