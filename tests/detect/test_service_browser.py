"""The web page in a real browser: Debian's headless Chromium, driven by Playwright, against a live `voxtwin serve`.

Skips (with the reason) where Chromium or Playwright is not installed; `.ci/run` installs Chromium so CI runs it.
Playwright only drives the browser found on the machine; it never downloads one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from detect.service.live_server import live_server
from voxtwin.cli import DEMO_AUDIO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (Debian: apt install chromium)")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
SCREENSHOT = os.environ.get("VOXTWIN_SCREENSHOT")  # where to keep the phone-width screenshot (the README's)


@pytest.fixture(scope="module")
def live_server_url():
    with live_server("--model", "fast") as (url, _):
        yield url


def test_page_checks_the_demo_tts_message(live_server_url, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone-width screen
            page.goto(live_server_url)
            assert page.title().startswith("voxtwin")
            page.set_input_files("#file", str(DEMO_AUDIO / "tts_piper_joe.opus"))
            page.wait_for_function("document.getElementById('verdict').textContent.length > 0", timeout=60_000)
            verdict = page.text_content("#verdict")
            assert verdict in ("Likely synthetic or converted speech", "Uncertain: the detector cannot tell", "Likely a real recording")
            assert "synthetic" in verdict.lower()  # the shipped fast detector calls the demo TTS message synthetic
            assert page.text_content("#p").strip()[0].isdigit()
            assert page.locator("#timeline svg line.segment").count() >= 1
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
            assert page.locator("#prior-note").is_hidden()  # the detector's even odds: nothing to say
            assert "about 10 % of the messages" in page.evaluate("priorNote(0.1)") and "real" in page.evaluate("priorNote(0.1)")
            shot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "page.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
