"""Apps on the server's kernel: find an app by name, load its tools and rules once.

The server's kernel was booted before anyone asked for an app, so an app is added to it
on its first run: its tools are registered (a tool of the same name that is a different
tool is a conflict, 409), its policy rules are appended after the operator's, scoped to the
app's entry program so they cannot change how other programs are judged, and an installed
app's code directory is put on `sys.path` for as long as the server runs (the kernel
imports the entry point when it spawns it, and again when it recovers it).

The app's capabilities are not trusted here: the route spawns it as a child of the key's
operator process, so the kernel derives them from the key's (see `routes/apps.py`).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from llmagentos.access import Policy
from llmagentos.apps import AppConflict, AppInfo, AppStore, PreparedApp, prepare_app
from llmagentos.kernel.kernel import Kernel
from llmagentos.records import replace


class AppLoader:
    """The apps of the kernel's state directory, each loaded into the kernel at most once."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.state_dir = Path(kernel.config.state_dir)
        self.store = AppStore(self.state_dir)
        self._loaded: dict[str, PreparedApp] = {}
        self._lock = asyncio.Lock()

    def available(self) -> list[AppInfo]:
        """Every app that can run, bundled first (reads manifests from disk)."""
        return self.store.available()

    async def load(self, name: str) -> PreparedApp:
        """App `name` ready to spawn (`UnknownApp`, `InvalidManifest`, `AppConflict`)."""
        async with self._lock:
            app = self._loaded.get(name)
            if app is not None:
                return app
            # Reading manifests, importing code and building tools touch the disk.
            app = await asyncio.to_thread(prepare_app, name, self.state_dir)
            self._install(app)
            self._loaded[name] = app
            return app

    def _install(self, app: PreparedApp) -> None:
        tools = self.kernel.tools
        clashes = [t.name for t in app.tools if t.name in tools and tools.get(t.name) is not t]
        if clashes:
            raise AppConflict(
                f"app {app.manifest.name!r} brings tools {clashes} whose names another"
                " tool on this server already has",
                app=app.manifest.name,
                tools=clashes,
            )
        if app.code_root is not None and str(app.code_root) not in sys.path:
            sys.path.append(str(app.code_root))
        for t in app.tools:
            if t.name not in tools:
                self.kernel.add_tool(t)
        if app.rules:
            entry = app.manifest.entry
            scoped = [
                replace(r, programs=(entry,)) if r.programs == ("*",) else r for r in app.rules
            ]
            current = self.kernel.access.policy
            self.kernel.access.policy = Policy((*current.rules, *scoped), current.default)
