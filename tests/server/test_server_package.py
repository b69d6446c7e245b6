"""The dashboard's files ship in the wheel: the package-data globs cover what is served."""

from __future__ import annotations

import tomllib
from pathlib import Path

import llmagentos.server
from llmagentos.server.app import DASHBOARD

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(llmagentos.server.__file__).parent


def _shipped() -> set[Path]:
    """The files setuptools adds for `llmagentos.server` (its globs, from the package)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"].get("llmagentos.server", [])
    return {p.resolve() for g in globs for p in PACKAGE.glob(g) if p.is_file()}


def test_every_dashboard_file_is_package_data() -> None:
    served = {p.resolve() for p in DASHBOARD.rglob("*") if p.is_file()}
    assert (DASHBOARD / "index.html").resolve() in served  # the page the route reads
    assert len(served) >= 3
    missing = sorted(str(p.relative_to(PACKAGE)) for p in served - _shipped())
    assert missing == [], f"add these to [tool.setuptools.package-data]: {missing}"


def test_the_page_only_loads_files_that_are_in_the_directory() -> None:
    # index.html names its script and styles under /dashboard/static/: each must exist.
    page = (DASHBOARD / "index.html").read_text()
    names = [part.split('"')[0] for part in page.split("/dashboard/static/")[1:]]
    assert names, "the page loads no static files"
    for name in names:
        assert (DASHBOARD / name.split("?")[0]).is_file(), name
