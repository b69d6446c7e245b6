"""Memory and storage of the caller's scope: long-term memories, key-value pairs, files.

Every operation is a syscall of the key's operator process, in the operator's own
namespace (`proc/api-<key name>`) unless `namespace` names another one the key's
`namespaces` capability allows. Reads need the `read` scope and writes `operate`; both
are syscalls of the operator, journaled and audited like an agent's.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from llmagentos.kernel import syscalls as sc
from llmagentos.server import schemas as s
from llmagentos.server.deps import OperateKey, ReadKey, State, operator_call
from llmagentos.server.errors import HTTPError
from llmagentos.server.routes.common import ERRORS, StrictRoute

router = APIRouter(
    prefix="/api", tags=["memory and storage"], responses=ERRORS, route_class=StrictRoute
)

NamespaceQ = Annotated[
    str | None,
    Query(min_length=1, max_length=200, pattern=s.NO_CONTROL, description="Default: the key's own"),
]
KeyPath = Annotated[str, Path(min_length=1, max_length=1024)]
FilePath = Annotated[str, Path(min_length=1, max_length=1024, pattern=s.FILE_PATH)]
Prefix = Annotated[str, Query(max_length=1024)]
_MISSING = {"$llmagentos": "missing"}  # a default no stored value can equal


# -- memory -------------------------------------------------------------------------------


@router.post("/memory", status_code=201, response_model=s.MemoryId, summary="Remember a text")
async def remember(body: s.MemoryIn, st: State, key: OperateKey) -> s.MemoryId:
    mid = await operator_call(st, key, sc.Remember(body.text, body.metadata, body.namespace))
    return s.MemoryId(id=str(mid))


@router.get("/memory", response_model=list[s.MemoryOut], summary="Recall memories")
async def recall(
    st: State,
    key: ReadKey,
    query: Annotated[str, Query(min_length=1, max_length=4000)],
    k: Annotated[int, Query(ge=1, le=100)] = 5,
    namespace: NamespaceQ = None,
) -> list[s.MemoryOut]:
    items = await operator_call(st, key, sc.Recall(query, k, None, namespace))
    return [s.MemoryOut(id=i.id, text=i.text, metadata=i.metadata, score=i.score) for i in items]


@router.delete("/memory/{memory_id}", response_model=s.Deleted, summary="Forget a memory")
async def forget(
    memory_id: Annotated[str, Path(min_length=1, max_length=200)],
    st: State,
    key: OperateKey,
    namespace: NamespaceQ = None,
) -> s.Deleted:
    return s.Deleted(deleted=bool(await operator_call(st, key, sc.Forget(memory_id, namespace))))


# -- key-value ----------------------------------------------------------------------------


@router.get("/kv", response_model=s.KeyList, summary="List keys")
async def kv_list(
    st: State, key: ReadKey, prefix: Prefix = "", namespace: NamespaceQ = None
) -> s.KeyList:
    return s.KeyList(keys=list(await operator_call(st, key, sc.KVList(prefix, namespace))))


@router.get("/kv/{item:path}", response_model=s.KVOut, summary="Read a value")
async def kv_get(item: KeyPath, st: State, key: ReadKey, namespace: NamespaceQ = None) -> s.KVOut:
    value = await operator_call(st, key, sc.KVGet(item, _MISSING, namespace))
    if value == _MISSING:
        raise HTTPError(404, f"no key {item!r}", "not_found")
    return s.KVOut(key=item, value=value, found=True)


@router.put("/kv/{item:path}", response_model=s.KVOut, summary="Write a value")
async def kv_put(
    item: KeyPath, body: s.KVIn, st: State, key: OperateKey, namespace: NamespaceQ = None
) -> s.KVOut:
    await operator_call(st, key, sc.KVPut(item, body.value, namespace))
    return s.KVOut(key=item, value=body.value, found=True)


@router.delete("/kv/{item:path}", response_model=s.Deleted, summary="Delete a value")
async def kv_delete(
    item: KeyPath, st: State, key: OperateKey, namespace: NamespaceQ = None
) -> s.Deleted:
    return s.Deleted(deleted=bool(await operator_call(st, key, sc.KVDelete(item, namespace))))


# -- files --------------------------------------------------------------------------------


@router.get("/files", response_model=s.PathList, summary="List files")
async def file_list(
    st: State, key: ReadKey, prefix: Prefix = "", namespace: NamespaceQ = None
) -> s.PathList:
    return s.PathList(paths=list(await operator_call(st, key, sc.FileList(prefix, namespace))))


@router.get("/files/{path:path}", response_model=s.FileOut, summary="Read a file")
async def file_read(
    path: FilePath, st: State, key: ReadKey, namespace: NamespaceQ = None
) -> s.FileOut:
    content: Any = await operator_call(st, key, sc.FileRead(path, namespace))
    if isinstance(content, bytes):
        encoded = base64.b64encode(content).decode("ascii")
        return s.FileOut(path=path, content=encoded, encoding="base64")
    return s.FileOut(path=path, content=content, encoding="utf-8")


@router.put("/files/{path:path}", response_model=s.Written, summary="Write a file")
async def file_write(
    path: FilePath,
    body: s.TextFileIn | s.BinaryFileIn,
    st: State,
    key: OperateKey,
    namespace: NamespaceQ = None,
) -> s.Written:
    """Write `{"content": text}` or `{"base64": data}`."""
    # The schema's pattern has already made `base64` valid base64.
    content = base64.b64decode(body.base64) if isinstance(body, s.BinaryFileIn) else body.content
    size = await operator_call(st, key, sc.FileWrite(path, content, namespace))
    return s.Written(path=path, bytes=int(size))


@router.delete("/files/{path:path}", response_model=s.Deleted, summary="Delete a file")
async def file_delete(
    path: FilePath, st: State, key: OperateKey, namespace: NamespaceQ = None
) -> s.Deleted:
    return s.Deleted(deleted=bool(await operator_call(st, key, sc.FileDelete(path, namespace))))
