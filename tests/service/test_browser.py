"""The web page in a real browser: Debian's headless Chromium driven by Playwright (no browser is downloaded).

Signs in, rates 12 photos with the keyboard, sees the Library ranking change, asks "why", compares a pair, reads
the Profile view, and looks at the page on a phone-sized screen. Screenshots go to ``$PIAA_SCREENSHOTS`` when set
(the README's come from ``PIAA_SCREENSHOTS=docs/serve pytest tests/service/test_browser.py``), else to a
temporary folder.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from serve_helpers import N_PHOTOS, Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
PW = "correct-horse-battery"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (Debian package `chromium`)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, photo_library, serve_home):
    srv = Server(photo_library, tmp_path_factory.mktemp("serve_browser"), serve_home).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            assert c.post("/api/signup", json={"username": "tess", "password": PW}).status_code == 201
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    d = Path(os.environ.get("PIAA_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def shot(page, path: Path) -> None:
    page.screenshot(path=str(path), type="jpeg", quality=80)


def sign_in(page, url):
    page.goto(url + "/")
    page.fill("#login-user", "tess")
    page.fill("#login-pass", PW)
    page.click("#login-submit")
    page.wait_for_selector("#view-rate:not([hidden])")
    page.wait_for_function("document.getElementById('rate-img').complete && "
                           "document.getElementById('rate-img').naturalWidth > 0")


def library_order(page) -> list:
    page.click("#tab-library")
    page.wait_for_selector("#grid li button", timeout=180_000)     # the first ranking waits for the analysis
    return page.eval_on_selector_all("#grid li button", "els => els.map(e => Number(e.dataset.id))")


def test_rate_with_keyboard_and_see_the_ranking_change(browser, site, shots):
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)   # test probes use eval
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, site.url)
    assert "0 rated" in page.text_content("#rate-count")
    before = library_order(page)
    assert len(before) == N_PHOTOS
    assert "general model" in page.text_content("#library-basis")
    page.click("#tab-rate")
    page.wait_for_selector("#view-rate:not([hidden])")
    rated = []
    for k in range(12):
        name = page.text_content("#rate-name")
        key = "x" if k == 5 else str(1 + (k * 3) % 5)
        page.keyboard.press(key)
        rated.append(name)
        page.wait_for_function(f"document.getElementById('rate-count').textContent.startsWith('{k + 1} rated')")
        if k == 3:
            shot(page, shots / "rate.jpg")
    # going back with the left arrow shows the last photo again, with its stars
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"document.getElementById('rate-name').textContent === {rated[-1]!r}")
    assert "You gave it" in page.text_content("#rate-msg")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.getElementById('rate-count').textContent.includes('profile from 12')",
                           timeout=120_000)
    with httpx.Client(base_url=site.url, timeout=60) as c:
        tok = c.post("/api/token", json={"username": "tess", "password": PW}).json()["token"]
        mine = c.get("/api/ratings", headers={"Authorization": f"Bearer {tok}"}).json()["ratings"]
    assert len(mine) == 12 and sorted(r["rating"] for r in mine).count(1.0) >= 2          # X rejected one

    page.click("#tab-library")    # wait for the re-ranked grid, not the stale generic one (slow under load)
    page.wait_for_function("document.getElementById('library-basis').textContent.includes('your taste')",
                           timeout=120_000)
    after = library_order(page)
    assert sorted(after) == sorted(before) and after != before
    assert "your taste" in page.text_content("#library-basis")
    page.wait_for_function("Array.from(document.querySelectorAll('#grid img')).slice(0, 8)"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    shot(page, shots / "library.jpg")
    page.focus("#grid li:nth-child(2) button")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('why-text').textContent.includes('of 5')")
    assert page.locator("#why-similar li").count() >= 1
    shot(page, shots / "why.jpg")
    page.keyboard.press("Escape")

    page.click("#tab-rate")
    page.click("#mode-pairs")
    page.wait_for_function("document.getElementById('pair-left').naturalWidth > 0")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("document.getElementById('rate-msg').textContent.includes('left')")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.getElementById('rate-msg').textContent.includes('right')")
    page.wait_for_function("document.getElementById('pair-right').naturalWidth > 0")
    shot(page, shots / "pairs.jpg")
    with httpx.Client(base_url=site.url, timeout=60, headers={"Authorization": f"Bearer {tok}"}) as c:
        assert len(c.get("/api/comparisons").json()["comparisons"]) == 2

    page.click("#tab-profile")
    page.wait_for_function("document.getElementById('profile-summary').textContent.length > 20")
    summary = page.text_content("#profile-summary")
    assert "SROCC" not in summary and "profile" in summary.lower()
    shot(page, shots / "profile.jpg")
    assert not errors, errors
    ctx.close()


def test_phone_screen(browser, site, shots):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                              has_touch=True, bypass_csp=True)
    page = ctx.new_page()
    sign_in(page, site.url)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390                                             # nothing sticks out sideways
    box = page.locator(".stars button[data-rate='5']").bounding_box()
    assert box and box["x"] + box["width"] <= 390 and box["height"] >= 40          # thumb-sized, on screen
    page.tap(".stars button[data-rate='4']")
    page.wait_for_function("document.getElementById('rate-count').textContent.startsWith('13 rated')")
    shot(page, shots / "phone.jpg")
    ctx.close()
