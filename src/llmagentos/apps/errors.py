"""Errors of the apps framework (all part of the `llmagentos.errors` tree).

```
UserError
├── InvalidArgument
│   └── InvalidManifest       app.toml is missing, not TOML, or a field is wrong
├── NotFound
│   └── UnknownApp            no bundled or installed app has that name
└── InvalidState
    └── AppConflict           the name is taken (a bundled app), or the code is unusable
AccessError
└── PermissionDenied
    └── CapabilityNotGranted  the app asks for more than it was granted
```
"""

from __future__ import annotations

from llmagentos.errors import InvalidArgument, InvalidState, NotFound, PermissionDenied


class InvalidManifest(InvalidArgument):
    code = "invalid_manifest"


class UnknownApp(NotFound):
    code = "unknown_app"


class AppConflict(InvalidState):
    code = "app_conflict"


class CapabilityNotGranted(PermissionDenied):
    code = "capability_not_granted"
