"""Apps: installable agent programs with a manifest, and the apps bundled with the OS.

An app is a directory with an `app.toml` (see `llmagentos.apps.manifest`) and the Python
code its entry point names. `AppStore` knows the bundled apps (the packages here) and
those installed into a state directory; `run_app` boots a kernel with the app's model,
tools and policy and runs it as a process with the capabilities it was granted
(`prepare_app` + `spawn_app` put several apps on one kernel). On the
command line: `llmagentos app list | install PATH | run NAME [--arg k=v] | remove NAME`.

Bundled: `customer_service`, `summarizer`, `maze_solver`, `classify_translate`,
`sentiment_monitor`, `recommender`. Each runs offline on a rule-based double today and on
the built-in model once it is installed.
"""

from llmagentos.apps.errors import AppConflict, CapabilityNotGranted, InvalidManifest, UnknownApp
from llmagentos.apps.factory import AppData, ToolFactory, tool_factory
from llmagentos.apps.manifest import AppManifest, load_manifest, parse_manifest
from llmagentos.apps.runner import (
    OFFLINE,
    AppRun,
    PreparedApp,
    choose_model,
    prepare_app,
    run_app,
    spawn_app,
)
from llmagentos.apps.store import AppInfo, AppStore

__all__ = [
    "OFFLINE",
    "AppConflict",
    "AppData",
    "AppInfo",
    "AppManifest",
    "AppRun",
    "AppStore",
    "CapabilityNotGranted",
    "InvalidManifest",
    "PreparedApp",
    "ToolFactory",
    "UnknownApp",
    "choose_model",
    "load_manifest",
    "parse_manifest",
    "prepare_app",
    "run_app",
    "spawn_app",
    "tool_factory",
]
