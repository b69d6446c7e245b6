"""API keys (admin only): create, list, revoke. The plain key is returned once, at creation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from llmagentos.server import ops_schemas as o
from llmagentos.server import schemas as s
from llmagentos.server.auth import ApiKey
from llmagentos.server.deps import AdminKey, State
from llmagentos.server.routes.common import ERRORS, StrictRoute

router = APIRouter(prefix="/api/keys", tags=["keys"], responses=ERRORS, route_class=StrictRoute)

KeyName = Annotated[str, Path(min_length=1, max_length=64)]


def key_out(k: ApiKey) -> o.KeyOut:
    return o.KeyOut(
        name=k.name,
        key_id=k.key_id,
        scopes=list(k.scopes),
        capabilities=s.CapabilitiesModel.of(k.caps),
        programs=list(k.programs),
        used_tokens=k.used_tokens,
        created_at=k.created_at,
        last_used=k.last_used,
        revoked=k.revoked,
        requests_per_minute=k.requests_per_minute,
        tokens_per_minute=k.tokens_per_minute,
    )


@router.get("", response_model=list[o.KeyOut], summary="List API keys (no secrets)")
async def list_keys(st: State, key: AdminKey) -> list[o.KeyOut]:
    return [key_out(k) for k in st.keys.list()]


@router.post("", status_code=201, response_model=o.KeyCreated, summary="Create an API key")
async def create_key(body: o.KeyIn, st: State, key: AdminKey) -> o.KeyCreated:
    caps = body.capabilities.to_record() if body.capabilities is not None else None
    created, token = await st.keys.acreate(
        body.name,
        list(body.scopes),
        caps=caps,
        programs=tuple(body.programs),
        requests_per_minute=body.requests_per_minute,
        tokens_per_minute=body.tokens_per_minute,
    )
    return o.KeyCreated(**key_out(created).model_dump(), token=token)


@router.post("/{name}/revoke", response_model=o.KeyOut, summary="Revoke an API key")
async def revoke_key(name: KeyName, st: State, key: AdminKey) -> o.KeyOut:
    return key_out(await st.keys.revoke(name))
