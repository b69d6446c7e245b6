"""Which apps exist: the bundled ones, and those installed in a state directory.

Bundled apps are the packages under `llmagentos/apps/` that hold an `app.toml`; they are
part of the OS and granted what their manifests ask. `install(path)` copies an app
directory to `<state>/apps/<name>/code/`, checks that its entry point and tools load,
and records in `<state>/apps/<name>/install.json` the capabilities it was granted: what
the manifest asks, narrowed by the operator's `grants`. An app that asks for more than it
is granted (at install, or later because its manifest changed) gets `CapabilityNotGranted`.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmagentos import records
from llmagentos.access import BUDGET_FIELDS, PATTERN_FIELDS, derive
from llmagentos.apps.errors import AppConflict, CapabilityNotGranted, InvalidManifest, UnknownApp
from llmagentos.apps.factory import AppData, resolve_tools
from llmagentos.apps.manifest import MANIFEST, AppManifest, load_manifest
from llmagentos.errors import InvalidArgument, LLMAgentOSError, PermissionDenied
from llmagentos.kernel.programs import ProgramRegistry
from llmagentos.kernel.syscalls import Capabilities
from llmagentos.records import replace

BUNDLED_DIR = Path(__file__).parent
Grants = dict[str, Any]


@dataclass(frozen=True)
class AppInfo:
    """An app that can run: its manifest, where its code is, and what it was granted."""

    manifest: AppManifest
    source: str  # "bundled", or the directory it was installed from
    code_root: Path | None  # the sys.path entry its modules load from (None: bundled)
    granted: Capabilities | None  # None: bundled, granted what it asks
    installed_at: float | None = None

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def bundled(self) -> bool:
        return self.source == "bundled"


def requested_capabilities(manifest: AppManifest, tool_names: list[str]) -> Capabilities:
    """What the app's process asks for; `tools` defaults to the tools it ships."""
    caps = manifest.capabilities
    return caps if caps.tools is not None else replace(caps, tools=tuple(tool_names))


def check_granted(name: str, granted: Capabilities, requested: Capabilities) -> Capabilities:
    """The capabilities the app runs with: what it asks, within what it was granted.

    Raises `CapabilityNotGranted` when it asks for more than it was granted.
    """
    try:
        return derive(granted, requested)
    except PermissionDenied as exc:
        raise CapabilityNotGranted(
            f"app {name!r} asks for more than it was granted: "
            + exc.message.replace("may not grant", "it wants").replace("the parent's", "the grant")
            + "; reinstall it granting that (`llmagentos app install PATH --grant ...`)"
            + f" or fix its {MANIFEST}",
            app=name,
        ) from None


def apply_grants(requested: Capabilities, grants: Grants | None) -> Capabilities:
    """The operator's grants over what the app asks: each given field replaces the ask."""
    granted = requested
    for field, value in (grants or {}).items():
        if field in PATTERN_FIELDS:
            values = (
                tuple(value) if isinstance(value, list | tuple) else tuple(str(value).split(","))
            )
            granted = replace(granted, **{field: tuple(v.strip() for v in values if v.strip())})
        elif field in BUDGET_FIELDS:
            number = float if field == "max_wall_s" else int
            try:
                budget = None if value in (None, "none") else number(value)
            except ValueError:
                raise InvalidArgument(f"grant {field}={value!r}: not a number") from None
            granted = replace(granted, **{field: budget})
        elif field == "spawn":
            granted = replace(granted, spawn=str(value).lower() in ("1", "true", "yes"))
        else:
            known = ", ".join((*PATTERN_FIELDS, *BUDGET_FIELDS, "spawn"))
            raise InvalidArgument(f"unknown capability {field!r} in a grant; known: {known}")
    return granted


@contextmanager
def importable(code_root: Path | None) -> Iterator[None]:
    """Make an installed app's modules importable for as long as it runs."""
    if code_root is None or str(code_root) in sys.path:
        yield
        return
    sys.path.insert(0, str(code_root))
    try:
        yield
    finally:
        if str(code_root) in sys.path:
            sys.path.remove(str(code_root))


class AppStore:
    """The apps of one state directory (plus the bundled ones)."""

    def __init__(self, state_dir: str | Path) -> None:
        self.root = Path(state_dir) / "apps"

    def data(self, name: str) -> AppData:
        return AppData(name, self.root / name / "data")

    # -- finding apps --------------------------------------------------------------------

    def bundled(self) -> dict[str, AppInfo]:
        found = {}
        for path in sorted(BUNDLED_DIR.iterdir()):
            if (path / MANIFEST).is_file():
                manifest = load_manifest(path)
                found[manifest.name] = AppInfo(manifest, "bundled", None, None)
        return found

    def installed(self) -> dict[str, AppInfo]:
        found: dict[str, AppInfo] = {}
        if not self.root.is_dir():
            return found
        for record_file in sorted(self.root.glob(f"*/{'install.json'}")):
            info = self._read(record_file)
            found[info.name] = info
        return found

    def _read(self, record_file: Path) -> AppInfo:
        data = json.loads(record_file.read_text(encoding="utf-8"))
        code = Path(data["code_root"])
        manifest = load_manifest(Path(data["app_dir"]))
        return AppInfo(
            manifest,
            data["source"],
            code,
            records.loads(data["granted"]),
            data.get("installed_at"),
        )

    def available(self) -> list[AppInfo]:
        """Every app, bundled first, by name."""
        return [*self.bundled().values(), *self.installed().values()]

    def get(self, name: str) -> AppInfo:
        apps = {a.name: a for a in self.available()}
        if name in apps:
            return apps[name]
        close = difflib.get_close_matches(name, list(apps), n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise UnknownApp(
            f"no app named {name!r}; {hint}known apps: {', '.join(sorted(apps)) or 'none'}"
            " (`llmagentos app list`)",
            suggestions=close,
        )

    # -- installing ----------------------------------------------------------------------

    def install(self, path: str | Path, grants: Grants | None = None) -> AppInfo:
        """Copy the app at `path` into the state directory and record its grants."""
        src = Path(path).resolve()
        manifest = load_manifest(src)
        if manifest.name in self.bundled():
            raise AppConflict(f"{manifest.name!r} is a bundled app; it is always installed")
        dest = self.root / manifest.name
        staging = self.root / f".staging-{manifest.name}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(
            src, staging / "code" / src.name, ignore=shutil.ignore_patterns("__pycache__")
        )
        package = (src / "__init__.py").is_file()
        code_root = (dest / "code") if package else (dest / "code" / src.name)
        try:
            staged_root = staging / "code" if package else staging / "code" / src.name
            tools = self._check_loads(manifest, staged_root)
            requested = requested_capabilities(manifest, [t.name for t in tools])
            granted = apply_grants(requested, grants)
            check_granted(manifest.name, granted, requested)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        shutil.rmtree(dest / "code", ignore_errors=True)
        dest.mkdir(parents=True, exist_ok=True)
        (staging / "code").rename(dest / "code")
        shutil.rmtree(staging, ignore_errors=True)
        entry = {
            "name": manifest.name,
            "version": manifest.version,
            "source": str(src),
            "code_root": str(code_root),
            "app_dir": str(dest / "code" / src.name),
            "granted": records.dumps(granted),
            "installed_at": time.time(),
        }
        tmp = dest / "install.json.tmp"
        tmp.write_text(json.dumps(entry, indent=2), encoding="utf-8")
        tmp.replace(dest / "install.json")  # atomic: a reader sees the old or the new record
        return self._read(dest / "install.json")

    def _check_loads(self, manifest: AppManifest, code_root: Path) -> list[Any]:
        """Import the entry point and build the tools, so a broken app fails at install."""
        with importable(code_root):
            try:
                ProgramRegistry().resolve(manifest.entry)
                return resolve_tools(manifest.tools, self.data(manifest.name))
            except LLMAgentOSError as exc:
                raise InvalidManifest(
                    f"app {manifest.name!r} does not load: {exc.message}", app=manifest.name
                ) from None
            finally:
                # The staged copy moves after this check: later imports must find the new place.
                for module in [m for m, mod in list(sys.modules.items()) if _under(mod, code_root)]:
                    del sys.modules[module]

    def remove(self, name: str) -> None:
        """Uninstall an installed app (its data directory is kept)."""
        info = self.get(name)
        if info.bundled:
            raise AppConflict(f"{name!r} is a bundled app and cannot be removed")
        shutil.rmtree(self.root / name / "code", ignore_errors=True)
        (self.root / name / "install.json").unlink(missing_ok=True)


def _under(module: Any, root: Path) -> bool:
    path = getattr(module, "__file__", None)
    return bool(path) and str(path).startswith(str(root))
