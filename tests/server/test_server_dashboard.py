"""The dashboard end to end in headless Chromium (Debian's package, driven by Playwright).

The page is loaded with an admin key while agents run; the test waits for live data in
every panel, approves a waiting call with the inbox's button, focuses one agent's
timeline, and then checks the screenshot itself: the plot, the timeline bars and the
table text must be drawn in their regions, not merely present in the DOM.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_workload import Served, wait_for

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 20_000

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)",
)

# Counts the pixels of screenshot regions that are "blue" (the plot and the model-call bars)
# or "light" (text on the dark theme), in the browser itself: fast, and no imaging library.
_PIXELS_JS = """
async ([png, boxes]) => {
  const img = new Image();
  img.src = "data:image/png;base64," + png;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const out = {};
  for (const [name, box] of boxes) {
    const d = ctx.getImageData(box.x, box.y, box.width, box.height).data;
    let blue = 0, light = 0;
    for (let i = 0; i < d.length; i += 4) {
      const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
      if (b > 150 && b - r > 60) blue++;
      if (r > 150 && g > 150 && b > 150) light++;
    }
    out[name] = { blue, light };
  }
  return out;
}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _workload(served: Served) -> tuple[list[int], int]:
    c = served.client()
    chatters = [
        c.post(
            "/api/processes", json={"program": "chatty", "args": {"rounds": 400, "delay": 0.03}}
        ).json()["pid"]
        for _ in range(3)
    ]
    c.post("/api/processes", json={"program": "forever", "name": "ticker"})
    reporter = c.post("/api/processes", json={"program": "reporter", "args": {"title": "q3"}})
    wait_for(lambda: c.get("/api/approvals").json())
    return chatters, reporter.json()["pid"]


def test_dashboard_shows_live_data(served: Served, browser: Any, tmp_path: Path) -> None:
    chatters, reporter = _workload(served)
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{served.url}/dashboard#key={served.admin}")

    # Live data in every panel.
    page.wait_for_selector(f"#procs tbody tr[data-pid='{chatters[0]}']")
    page.wait_for_function("document.querySelectorAll('#tokens-plot path').length >= 2")
    page.wait_for_function("document.querySelectorAll('#timeline rect').length >= 5")
    page.wait_for_selector("#resources tbody td:text('llm:latency')")
    page.wait_for_selector("#logs div:text-matches('round \\\\d+:')")
    page.wait_for_selector("#events div:text-matches('state|log')")
    assert page.text_content("#status") == "connected"
    assert "admin" in (page.text_content("#whoami") or "")
    page.wait_for_function("Number(document.getElementById('c-live').textContent) >= 4")
    assert page.locator("#procs tbody tr").count() >= 6

    # The approvals inbox: approve the waiting call with its button.
    page.wait_for_selector("#approvals button.approve")
    page.click("#approvals button.approve")
    status = served.client().get(f"/api/processes/{reporter}/wait").json()
    assert status["result"] == {"ok": True, "output": "published q3", "error": None}
    page.wait_for_selector("#approvals li.empty")

    # Focus one agent: the timeline and the log tail follow it.
    page.click(f"#procs tbody tr[data-pid='{chatters[1]}'] td:first-child")
    page.wait_for_function(
        f"document.getElementById('timeline-note').textContent.includes('{chatters[1]}')"
    )
    page.wait_for_function("document.querySelectorAll('#timeline rect').length >= 2")
    only_focused = "[...document.querySelectorAll('#logs div')].every(d => d.textContent"
    page.wait_for_function(f"{only_focused}.includes('[{chatters[1]}]'))")
    page.wait_for_timeout(1200)  # one more refresh, so the token plot has several samples

    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)
    boxes = [
        [name, page.locator(selector).bounding_box()]
        for name, selector in [
            ("plot", "#tokens-plot"),
            ("timeline", "#timeline"),
            ("table", "#procs"),
            ("cards", "#cards"),
        ]
    ]
    png = base64.b64encode(shot.read_bytes()).decode()
    probe = browser.new_page()
    pixels = probe.evaluate(_PIXELS_JS, [png, boxes])
    probe.close()
    assert pixels["plot"]["blue"] > 500, pixels  # the area chart
    assert pixels["timeline"]["blue"] > 500, pixels  # model-call bars
    assert pixels["table"]["light"] > 1000, pixels  # rows of text
    assert pixels["cards"]["light"] > 300, pixels  # the figures
    assert errors == []
    page.close()


def test_dashboard_asks_for_a_key(served: Served, browser: Any) -> None:
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{served.url}/dashboard")
    page.wait_for_selector("#login:not([hidden])")
    page.fill("#key", "lak_wrong")
    page.click("#login button")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('error')")
    assert page.locator("#procs tbody tr[data-pid]").count() == 0
    page.fill("#key", served.admin)
    page.click("#login button")
    page.wait_for_function("document.getElementById('status').textContent === 'connected'")
    page.close()


def _keep(shot: Path) -> None:
    """Copy the screenshot where a person can look at it (`LLMAGENTOS_SCREENSHOTS=dir`)."""
    target = os.environ.get("LLMAGENTOS_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / shot.name)
