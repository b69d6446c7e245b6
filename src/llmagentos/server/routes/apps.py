"""Apps: list the installed and bundled apps, and run one by name as a process.

An app runs as a child of the key's operator process, like any program spawned through
`/api/processes`, so it can never hold more than the key: the capabilities its manifest
asks for are derived from the key's (a field the manifest leaves open is the key's), and
an app that asks for more than the key allows is refused (403 `capability_not_granted`)
before anything starts. Its tools and policy rules are loaded into the kernel on its first
run (see `llmagentos.server.app_loader`); the model it calls is the kernel's default model,
as with `llmagentos app run`: a request can never make the server load a backend.
"""

from __future__ import annotations

import fnmatch
from typing import Annotated

from fastapi import APIRouter, Path

from llmagentos.access import derive
from llmagentos.apps import AppInfo, CapabilityNotGranted
from llmagentos.errors import PermissionDenied
from llmagentos.kernel.syscalls import Spawn
from llmagentos.server import schemas as s
from llmagentos.server.deps import OperateKey, ReadKey, State, operator_call
from llmagentos.server.errors import HTTPError
from llmagentos.server.routes.common import ERRORS, StrictRoute

router = APIRouter(prefix="/api/apps", tags=["apps"], responses=ERRORS, route_class=StrictRoute)

AppName = Annotated[str, Path(pattern=s.APP_NAME, description="An app's name (`GET /api/apps`)")]


def app_out(info: AppInfo) -> s.AppOut:
    m = info.manifest
    return s.AppOut(
        name=m.name,
        version=m.version,
        description=m.description,
        bundled=info.bundled,
        entry=m.entry,
        model=m.model,
        tools=list(m.tools),
        capabilities=s.CapabilitiesModel.of(m.capabilities),
        args=dict(m.args or {}),
    )


@router.get("", response_model=list[s.AppOut], summary="Apps this server can run")
async def list_apps(st: State, key: ReadKey) -> list[s.AppOut]:
    return [app_out(info) for info in st.apps.available()]


@router.post(
    "/{name}/run",
    status_code=201,
    response_model=s.AppSpawned,
    summary="Run an app as a process, within the key's capabilities",
)
async def run_app(name: AppName, body: s.AppRunRequest, st: State, key: OperateKey) -> s.AppSpawned:
    """Spawn the app's entry point with `args` over its defaults; returns at once (follow
    the process with `/api/processes/{pid}/wait`, `/logs`, or the event stream)."""
    app = await st.apps.load(name)  # 404 unknown_app before anything about the key
    entry = app.manifest.entry
    if not any(fnmatch.fnmatchcase(p, pat) for pat in key.programs for p in (f"app:{name}", entry)):
        raise HTTPError(
            403,
            f"API key {key.name!r} may not run app {name!r} (program {entry!r});"
            f" it may spawn {list(key.programs)}",
            "program_not_allowed",
        )
    operator = await st.operators.process(key)
    try:
        derive(operator.caps, app.capabilities)
    except PermissionDenied as exc:
        raise CapabilityNotGranted(
            f"app {name!r} asks for more than API key {key.name!r} allows: {exc.message}",
            app=name,
            **exc.details,
        ) from None
    args = {**(app.manifest.args or {}), **body.args}
    call = Spawn(entry, args, body.name or name, body.priority, app.capabilities)
    pid = int(await operator_call(st, key, call))
    proc = st.kernel.get(pid)
    return s.AppSpawned(
        pid=pid,
        name=proc.name,
        program=proc.program,
        app=name,
        version=app.manifest.version,
        capabilities=s.CapabilitiesModel.of(proc.caps),
    )
