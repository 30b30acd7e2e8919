"""The web page in a real browser: Debian's headless Chromium driven by Playwright (no browser is downloaded).

Walks every view with the keyboard — Rate (stars, flags, labels, pairs), Library (filters, paging, the photo
view with EXIF, histogram and zoom, "why"), Cull, Team, Profile, Account (password, invitations) — then each
view again at 390 px. Also earlier page defects (a double key press, tabs on the sign-in page, the
verdict's wording, plurals, a corrupt photo, the phone's pair labels and the why dialog's Close, the favicon).
Screenshots go to ``$PIAA_SCREENSHOTS`` when set (docs/serve's come from ``PIAA_SCREENSHOTS=docs/serve pytest
tests/service/test_browser.py``), else to a temporary folder.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageFilter

from serve_helpers import N_PHOTOS, Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
PW = "correct-horse-battery"
N_BURST = 3
N_ALL = N_PHOTOS + N_BURST + 1             # + a 12 x 9 px photo; + one corrupt photo that cannot be analysed

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
def browser_library(tmp_path_factory, photo_library):
    """The shared synthetic library + a burst of three near-identical frames with EXIF (the last one out of
    focus: the checks at 100 % say so) + a corrupt JPEG."""
    root = tmp_path_factory.mktemp("browser_photos")
    shutil.copytree(photo_library, root, dirs_exist_ok=True)
    rng = np.random.default_rng(11)
    base = np.clip(rng.normal(110, 70, (30, 40, 3)), 0, 255).repeat(30, 0).repeat(30, 1)     # 1200 x 900 px
    t0 = datetime(2024, 6, 1, 10, 0, 0)
    for k in range(N_BURST):
        ex = Image.Exif()
        ex[0x010F], ex[0x0110] = "Canon", "Canon EOS R6"
        sub = ex.get_ifd(0x8769)
        sub[0x9003] = (t0 + timedelta(seconds=k)).strftime("%Y:%m:%d %H:%M:%S")
        sub[0x829A], sub[0x829D], sub[0x8827], sub[0x920A] = 1 / 500, 4.0, 200, 35.0
        frame = Image.fromarray(np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8))
        if k == N_BURST - 1:
            frame = frame.filter(ImageFilter.GaussianBlur(4))
        frame.save(root / f"burst_{k}.jpg", quality=92, exif=ex)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a photo at all")
    Image.fromarray(rng.integers(0, 255, (9, 12, 3), dtype=np.uint8)).save(root / "tiny.jpg")   # a 12 x 9 px blob
    return root


@pytest.fixture(scope="module")
def site(tmp_path_factory, browser_library, serve_home):
    srv = Server(browser_library, tmp_path_factory.mktemp("serve_browser"), serve_home).start()
    try:
        assert srv.cli("users", "add", "tess", "--admin", "--password-stdin", input=PW + "\n").returncode == 0
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            assert c.post("/api/signup", json={"username": "uma", "password": PW}).status_code == 201
        with token(srv, "uma") as api:      # the checks at 100 % done: every test sees the same picks
            for _ in range(600):
                s = api.get("/api/library").json()
                if s["ready"] and s["checks"]["state"] == "ready":
                    break
                time.sleep(0.3)
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


def token(site, name="tess") -> httpx.Client:
    with httpx.Client(base_url=site.url, timeout=60) as c:
        tok = c.post("/api/token", json={"username": name, "password": PW}).json()["token"]
    return httpx.Client(base_url=site.url, timeout=60, headers={"Authorization": f"Bearer {tok}"})


def sign_in(page, url, name="tess"):
    page.goto(url + "/")
    page.fill("#login-user", name)
    page.fill("#login-pass", PW)
    page.click("#login-submit")
    page.wait_for_selector("#view-rate:not([hidden])")
    page.wait_for_function("document.getElementById('rate-img').complete && "
                           "document.getElementById('rate-img').naturalWidth > 0")


def text(page, sel) -> str:
    return page.text_content(sel) or ""


def library_ids(page) -> list:
    return page.eval_on_selector_all("#grid li > button.card", "els => els.map(e => Number(e.dataset.id))")


def open_library(page, n=None):
    page.click("#tab-library")
    page.wait_for_selector("#grid li > button.card", timeout=180_000)   # the first ranking waits for the analysis
    if n is not None:
        scroll_all(page, n)
    return library_ids(page)


def scroll_all(page, n):
    """Scroll down until the grid holds ``n`` tiles (the next pages load as the end comes into view)."""
    for _ in range(30):
        if page.evaluate("document.querySelectorAll('#grid li > button.card').length") >= n:
            break
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_timeout(300)
    page.wait_for_function(f"document.querySelectorAll('#grid li > button.card').length === {n}", timeout=60_000)


def test_sign_in_page_says_what_piaa_is_and_hides_the_tabs(browser, site):
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)            # the real CSP applies
    page = ctx.new_page()
    bad = []
    page.on("response", lambda r: bad.append(r.url) if r.status == 401 and "/api/session" not in r.url else None)
    page.goto(site.url + "/")
    page.wait_for_selector("#view-login:not([hidden])")
    assert not page.is_visible("#nav") and not page.is_visible("#tab-rate")    # regression: tabs on sign-in
    about = text(page, "#about")
    assert "piaa" in about and "taste" in about and about.count(".") == 1       # one sentence
    icon = page.get_attribute("link[rel=icon]", "href")
    assert httpx.get(site.url + icon).status_code == 200                        # regression: favicon 404
    assert not bad, bad
    ctx.close()


def test_rate_with_the_keyboard_flags_labels_and_a_double_press(browser, site, shots):
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)   # probes use eval
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, site.url)
    assert "0 rated" in text(page, "#rate-count")
    api = token(site)
    ids = {im["name"]: im["id"] for im in api.get("/api/images", params={"limit": 1000}).json()["images"]}
    first = text(page, "#rate-name")
    page.keyboard.press("p")
    page.wait_for_function("document.getElementById('rate-marks').textContent.includes('pick')")
    page.keyboard.press("8")
    page.wait_for_selector("#rate-marks .dot.green")
    page.keyboard.press("x")
    page.wait_for_function("document.getElementById('rate-marks').textContent.includes('rejected')")
    page.keyboard.press("u")
    page.wait_for_function("!document.getElementById('rate-marks').textContent.includes('rejected')")
    marks = api.get("/api/marks").json()["marks"]
    assert marks == [{"image": ids[first], "flag": None, "label": "green"}]
    assert text(page, "#rate-name") == first                                   # marks do not move on
    # a quick double press rates this photo and the next one (regression: it rated one twice, skipped one)
    page.keyboard.press("3")
    page.keyboard.press("3")
    page.wait_for_function("document.getElementById('rate-count').textContent.startsWith('2 rated')")
    mine = api.get("/api/ratings").json()["ratings"]
    assert len(mine) == 2 and {r["rating"] for r in mine} == {3.0} and ids[first] in {r["image"] for r in mine}
    shot(page, shots / "rate.jpg")
    # 0 clears the stars of the photo shown (back to the second one)
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("document.getElementById('rate-msg').textContent.includes('You gave it')")
    page.keyboard.press("0")
    page.wait_for_function("document.getElementById('rate-count').textContent.startsWith('1 rated')")
    assert len(api.get("/api/ratings").json()["ratings"]) == 1
    page.keyboard.press("ArrowRight")
    # 12 ratings cycling 1-5 (nothing a profile can learn): the verdict must not praise it
    for k in range(11):
        page.keyboard.press(str(1 + (k * 3) % 5))
        page.wait_for_function(f"document.getElementById('rate-count').textContent.startsWith('{k + 2} rated')")
    page.wait_for_function("document.getElementById('rate-count').textContent.includes('profile from 12 ratings')",
                           timeout=120_000)
    page.click("#mode-pairs")
    page.wait_for_function("document.getElementById('pair-left').naturalWidth > 0")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("document.getElementById('rate-msg').textContent.includes('left')")
    shot(page, shots / "pairs.jpg")
    page.click("#mode-stars")
    page.click("#tab-profile")
    page.wait_for_function("document.getElementById('profile-summary').textContent.length > 20")
    summary = text(page, "#profile-summary")
    assert "coin flip" in summary and "knows you fairly well" not in summary and "knows you well" not in summary
    assert "cannot tell yet" in summary or "does not know you" in summary
    page.wait_for_function("document.getElementById('profile-facts').textContent.includes('compared 1 pair.')")
    facts = text(page, "#profile-facts")
    assert not re.search(r"\b1 (comparisons|pairs)", facts)                    # regression: plural
    shot(page, shots / "profile.jpg")
    assert not errors, errors
    ctx.close()
    api.close()


def test_library_filters_paging_photo_view_and_a_corrupt_photo(browser, site, shots):
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)   # probes use eval
    page = ctx.new_page()
    errors, asked = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: asked.append(r.url) if "/api/ranking" in r.url else None)
    sign_in(page, site.url)
    open_library(page)
    page.uncheck("#f-stack")                                           # every photo, the burst's frames too
    page.wait_for_function("!document.getElementById('grid').querySelector('.stack-count')")
    ids = open_library(page, N_ALL)                                    # paged in 24s as the grid scrolls
    assert len(set(ids)) == N_ALL
    assert all("limit=24" in u for u in asked) and any("offset=24" in u for u in asked)   # never limit=1000
    page.wait_for_function("document.getElementById('library-unscored').textContent.includes('broken.jpg')")
    assert "cannot be read" in text(page, "#library-unscored")                 # not vanished silently
    assert not re.search(r"\b1 comparisons", text(page, "#library-basis"))      # regression: plural
    page.wait_for_function("Array.from(document.querySelectorAll('#grid img')).slice(0, 8)"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    assert "Q " in text(page, "#grid li:nth-child(1)")                          # quality on each tile
    shot(page, shots / "library.jpg")
    page.select_option("#f-flag", "none")
    page.select_option("#f-order", "name")
    page.wait_for_function("document.getElementById('library-title').textContent.includes('by file name')")
    scroll_all(page, N_ALL)
    names = page.eval_on_selector_all("#grid li > button.card", "els => els.map(e => e.getAttribute('aria-label'))")
    plain = [n.split(": ")[0] for n in names]                 # no "n." rank when the order is not a ranking
    assert plain == sorted(plain) and not any(re.match(r"\d+\. ", n) for n in names)
    assert page.eval_on_selector_all("#grid .rank", "els => els.every(e => e.textContent === '')")
    page.select_option("#f-order", "taste")
    page.select_option("#f-flag", "")
    # the photo view: Enter on a tile, EXIF + histogram, zoom, next, why, download, Escape
    page.wait_for_function("document.getElementById('library-title').textContent.includes('by your taste')")
    scroll_all(page, N_ALL)
    burst = [b for b in page.eval_on_selector_all(
        "#grid li > button.card", "els => els.map(e => [Number(e.dataset.id), e.getAttribute('aria-label')])")
        if "burst_0.jpg" in b[1]][0]
    page.focus(f"#grid li > button[data-id='{burst[0]}']")
    page.keyboard.press("Enter")
    page.wait_for_selector("#viewer:not([hidden])")
    page.wait_for_function("document.getElementById('exif').textContent.includes('Canon EOS R6')")
    assert "1/500 s" in text(page, "#exif") and "f/4" in text(page, "#exif")
    painted = page.evaluate("(() => { const c = document.getElementById('histogram');"
                            "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                            "let s = 0; for (let i = 3; i < d.length; i += 4) s += d[i]; return s; })()")
    assert painted > 0
    assert page.get_attribute("#v-download", "href") == f"/api/images/{burst[0]}/original"
    page.wait_for_function("document.getElementById('viewer-img').naturalWidth > 0")
    shot(page, shots / "viewer.jpg")
    page.keyboard.press("z")
    page.wait_for_selector("#viewer-stage.zoomed")
    page.wait_for_function("document.getElementById('viewer-img').src.endsWith('/original')")
    page.keyboard.press("5")
    page.wait_for_function("document.getElementById('viewer-marks').textContent.includes('★★★★★')")
    before = text(page, "#viewer-name")
    at, of = before.split(" · ")[0].split(" / ")
    page.keyboard.press("ArrowLeft" if at == of else "ArrowRight")                 # previous / next photo
    page.wait_for_function(f"document.getElementById('viewer-name').textContent !== {before!r}")
    page.keyboard.press("w")
    page.wait_for_function("document.getElementById('why-text').textContent.includes('of 5')")
    shot(page, shots / "why.jpg")
    page.keyboard.press("Escape")                                                 # closes the why dialog
    page.wait_for_function("!document.getElementById('why').open")
    page.keyboard.press("Escape")                                                 # then the photo view
    page.wait_for_selector("#viewer", state="hidden")
    assert not errors, errors
    ctx.close()


def test_cull_team_and_account(browser, site, shots):
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)   # probes use eval
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, site.url)
    api = token(site)
    page.click("#tab-cull")
    page.wait_for_selector("#bursts > li")
    group = page.eval_on_selector_all("#bursts > li.current .members button", "els => els.map(e => Number(e.dataset.id))")
    assert len(group) == N_BURST
    suggested = int(page.get_attribute("#bursts > li.current .members button.suggested", "data-id"))
    page.keyboard.press("Enter")                                                   # take the suggestion
    page.wait_for_function("document.getElementById('cull-msg').textContent.includes('is your pick')")
    page.keyboard.press("r")                                                       # reject the rest
    page.wait_for_function("document.getElementById('cull-msg').textContent.includes('rejected 2 others')")
    flags = {m["image"]: m["flag"] for m in api.get("/api/marks").json()["marks"]}
    assert flags[suggested] == "pick" and sorted(flags[i] for i in group if i != suggested) == ["reject", "reject"]
    shot(page, shots / "cull.jpg")
    with token(site, "uma") as uma:                                                # a second member who shares
        for i in group:
            uma.put(f"/api/ratings/{i}", json={"rating": 4})
    page.click("#tab-team")
    page.wait_for_function("document.getElementById('team-basis').textContent.includes('uma')")
    page.wait_for_function("document.getElementById('team-grid').textContent.includes('uma ★★★★')")
    shot(page, shots / "team.jpg")
    page.click("#tab-account")
    page.wait_for_selector("#admin:not([hidden])")
    page.click("#invite-create")
    page.wait_for_function("document.getElementById('invite-link').value.includes('#invite=')")
    link = page.input_value("#invite-link")
    assert link.startswith(site.url + "/#invite=") and "Valid until" in text(page, "#invite-code")
    page.click("#invite-copy")                                                     # a copy button, not a bare code
    page.wait_for_function("document.getElementById('invite-copy').textContent === 'Copied'")
    page.wait_for_function("document.getElementById('member-list').textContent.includes('uma')")
    shot(page, shots / "account.jpg")
    page.fill("#pw-old", PW)
    page.fill("#pw-new", "a-new-long-password")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('pw-msg').textContent.includes('Password changed')")
    api2 = token_with(site, "tess", "a-new-long-password")
    assert api.get("/api/me").status_code == 401 and api2.get("/api/me").status_code == 200
    assert api2.post("/api/me/password", json={"old": "a-new-long-password", "new": PW}).status_code == 200
    api2.close()
    # the invitation link opens the sign-up with the code filled in
    other = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)   # probes use eval
    p2 = other.new_page()
    p2.goto(link)
    p2.wait_for_selector("#login-invite:visible")
    assert p2.input_value("#login-invite") == link.split("#invite=")[1]
    p2.fill("#login-user", "vera")
    p2.fill("#login-pass", PW)
    p2.click("#signup-button")
    p2.wait_for_selector("#view-rate:not([hidden])")
    other.close()
    assert not errors, errors
    ctx.close()


def token_with(site, name, pw) -> httpx.Client:
    with httpx.Client(base_url=site.url, timeout=60) as c:
        tok = c.post("/api/token", json={"username": name, "password": pw}).json()["token"]
    return httpx.Client(base_url=site.url, timeout=60, headers={"Authorization": f"Bearer {tok}"})


def test_every_view_on_a_phone(browser, site, shots):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                              has_touch=True, bypass_csp=True)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, site.url, "uma")

    def fits(what):
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{what}: {width} px wide"                # nothing sticks out sideways

    fits("rate")
    box = page.locator(".stars button[data-rate='5']").bounding_box()
    assert box and box["x"] + box["width"] <= 390 and box["height"] >= 40          # thumb-sized, on screen
    page.tap(".stars button[data-rate='4']")
    page.wait_for_function("/^[1-9]\\d* rated/.test(document.getElementById('rate-count').textContent)")
    shot(page, shots / "phone.jpg")
    page.tap("#mode-pairs")
    page.wait_for_function("document.getElementById('pair-left').naturalWidth > 0")
    assert page.is_visible("#pick-left .narrow") and not page.is_visible("#pick-left .wide")
    assert "top" in text(page, "#pick-left") and "bottom" in text(page, "#pick-right")   # stacked, not ←/→
    fits("pairs")
    page.tap("#mode-stars")
    for view in ("library", "cull", "team", "profile", "account"):
        page.tap(f"#tab-{view}")
        page.wait_for_selector(f"#view-{view}:not([hidden])")
        page.wait_for_timeout(300)
        fits(view)
    page.tap("#tab-library")
    page.wait_for_selector("#grid li > button.card")
    shot(page, shots / "phone-library.jpg")
    page.tap("#grid li:nth-child(1) > button.card")
    page.wait_for_selector("#viewer:not([hidden])")
    page.wait_for_function("document.getElementById('exif').textContent.length > 0")
    close = page.locator("#v-close").bounding_box()
    assert close and close["y"] >= 0 and close["x"] + close["width"] <= 390
    shot(page, shots / "phone-viewer.jpg")
    page.tap("#v-why")
    page.wait_for_function("document.getElementById('why-text').textContent.includes('of 5')")
    why_close = page.locator("#why-close").bounding_box()
    assert why_close and 0 <= why_close["y"] and why_close["y"] + why_close["height"] <= 844   # reachable
    page.tap("#why-close")
    page.tap("#v-close")
    page.wait_for_selector("#viewer", state="hidden")
    page.tap("#tab-cull")
    page.wait_for_selector("#bursts > li")
    fits("cull with bursts")
    shot(page, shots / "phone-cull.jpg")
    assert not errors, errors
    ctx.close()


def swipe(page, selector, dx):
    """A one-finger horizontal swipe of ``dx`` px on ``selector`` (touch events, as a phone sends them)."""
    page.evaluate("""([sel, dx]) => {
      const n = document.querySelector(sel), r = n.getBoundingClientRect();
      const x = r.left + r.width / 2, y = r.top + r.height / 2;
      const t = (cx) => new Touch({ identifier: 1, target: n, clientX: cx, clientY: y });
      n.dispatchEvent(new TouchEvent('touchstart', { touches: [t(x)], changedTouches: [t(x)], bubbles: true }));
      n.dispatchEvent(new TouchEvent('touchend', { touches: [], changedTouches: [t(x + dx)], bubbles: true }));
    }""", [selector, dx])


def visit(browser, site, name, phone=False):
    """(context, page, page errors, API client, photo ids by name) of ``name`` signed in on a desktop or a
    390 px touch phone."""
    if phone:
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, bypass_csp=True)
    else:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)   # probes use eval
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, site.url, name)
    api = token(site, name)
    byname = {im["name"]: im["id"] for im in api.get("/api/images", params={"limit": 1000}).json()["images"]}
    return ctx, page, errors, api, byname


def test_library_stacks_rejects_folders_counts_and_the_empty_state(browser, site, shots):
    ctx, page, errors, api, byname = visit(browser, site, "uma")
    frames = [byname[f"burst_{k}.jpg"] for k in range(N_BURST)]
    groups = api.get("/api/bursts").json()["groups"]                   # the burst, and any near-duplicates
    cards = N_ALL - sum(len(g["members"]) - 1 for g in groups)
    open_library(page, cards)                                          # each group is one card
    page.wait_for_function("document.getElementById('library-count').textContent.includes('photos')")
    assert text(page, "#library-count").startswith(f"{N_ALL} photos")
    assert f"{cards} after stacking" in text(page, "#library-count")
    assert "by your taste" in text(page, "#library-title")
    assert text(page, "#grid li:nth-child(1) .rank") == "#1"
    wrapped = "Array.from(document.querySelectorAll('#grid .line')).filter(l => l.getBoundingClientRect().height > 26).length"
    assert page.evaluate(wrapped) == 0                                 # regression: "Q / 0.69" wrapped
    assert page.locator(".stack-count").count() == len(groups)
    pick = [g for g in groups if set(frames) == {m["id"] for m in g["members"]}][0]
    card = page.locator(f"#grid li.stacked > button.card[data-id='{pick['pick']}']")    # the pick on top
    badge = page.locator(f"#grid li.stacked:has(button.card[data-id='{pick['pick']}']) .stack-count")
    assert badge.text_content() == f"▣ {N_BURST}"
    # file name and capture date on the card
    assert "burst_" in card.locator(".file").text_content() and "2024" in card.locator(".date").text_content()
    assert page.locator("#grid li:not(.stacked) .date").first.text_content() == "no date"
    shot(page, shots / "library-stacks.jpg")
    badge.click()                                                      # open the stack: its frames, pick first
    page.wait_for_selector("#viewer:not([hidden])")
    assert f"1 / {N_BURST} of the stack of {N_BURST}" in text(page, "#viewer-name")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"document.getElementById('viewer-name').textContent.startsWith('2 / {N_BURST}')")
    said = [text(page, "#viewer-name")]
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"document.getElementById('viewer-name').textContent.startsWith('3 / {N_BURST}')")
    said.append(text(page, "#viewer-name"))
    assert any("soft focus" in s for s in said), said                 # the frames' reasons, the soft one's too
    page.keyboard.press("Escape")
    # a rejected photo is dimmed; one switch hides every reject
    victim = page.evaluate("Number(document.querySelectorAll('#grid li:not(.stacked) > button.card')[2].dataset.id)")
    api.put(f"/api/marks/{victim}", json={"flag": "reject", "label": "green"})
    page.select_option("#f-order", "quality")
    page.select_option("#f-order", "taste")
    page.wait_for_selector(f"#grid li.rejected > button.card[data-id='{victim}']")
    assert page.evaluate(wrapped) == 0                                 # a flag, a label and Q on one line
    assert page.evaluate(f"getComputedStyle(document.querySelector(\"#grid button[data-id='{victim}'] img\")).opacity") < "0.5"
    page.check("#f-hide-rejects")
    page.wait_for_function(f"!document.querySelector(\"#grid button.card[data-id='{victim}']\")")
    page.wait_for_function(f"document.getElementById('library-count').textContent.startsWith('{N_ALL - 1} photos match')")
    page.uncheck("#f-hide-rejects")
    # order by date: no rank numbers, the header says what the order is
    page.select_option("#f-order", "date")
    page.wait_for_function("document.getElementById('library-title').textContent.includes('by capture date')")
    assert page.eval_on_selector_all("#grid .rank", "els => els.every(e => e.textContent === '')")
    assert text(page, "#library-basis") == ""                         # no "sorted by your taste" under it
    page.select_option("#f-order", "taste")
    # the folder filter lists the library's folders
    options = page.eval_on_selector_all("#f-folder option", "els => els.map(e => e.value)")
    assert options[0] == "" and "sub" in options
    page.select_option("#f-folder", "sub")
    page.wait_for_function("document.getElementById('library-count').textContent.includes('match')")
    names = page.eval_on_selector_all("#grid .file", "els => els.map(e => e.title)")
    assert names and all(n.startswith("sub/") for n in names)
    # nothing matches: a count of none and what to change, not a blank page
    page.select_option("#f-flag", "pick")
    page.wait_for_selector("#library-empty:not([hidden])")
    assert "picked" in text(page, "#library-empty-text") and "in sub" in text(page, "#library-empty-text")
    assert text(page, "#library-count").startswith("0 photos match")
    shot(page, shots / "library-empty.jpg")
    page.click("#library-clear")
    page.wait_for_selector("#library-empty", state="hidden")
    open_library(page, cards)
    api.put(f"/api/marks/{victim}", json={"flag": None, "label": None})
    assert not errors, errors
    ctx.close()
    api.close()


def test_cull_large_frames_own_stars_rejects_and_compare_at_100(browser, site, shots):
    ctx, page, errors, api, byname = visit(browser, site, "uma")
    api.put(f"/api/ratings/{byname['burst_1.jpg']}", json={"rating": 5})     # the most stars: the pick
    api.put(f"/api/marks/{byname['burst_2.jpg']}", json={"flag": "reject", "label": None})
    page.click("#tab-cull")
    page.wait_for_selector("#bursts > li .frame")
    frames = page.locator("#bursts > li.current .frame")
    assert frames.count() == N_BURST
    width = page.evaluate("document.querySelector('#bursts .frame img').getBoundingClientRect().width")
    assert width >= 280, width                                                     # large, not ~140 px thumbnails
    own = page.locator(f"#bursts .frame[data-id='{byname['burst_1.jpg']}'] .mine").text_content()
    assert own == "yours ★★★★★"
    rejected = page.locator(f"#bursts .frame[data-id='{byname['burst_2.jpg']}']")
    assert "rejected" in (rejected.get_attribute("class") or "") and "rejected" in rejected.text_content()
    assert page.evaluate("getComputedStyle(document.querySelector('#bursts .frame.rejected img')).opacity") < "0.5"
    # the reasons a frame is not the pick, on the page without hovering (from /api/bursts)
    assert "you rejected it" in rejected.locator(".reasons").text_content()
    assert "soft focus" in rejected.locator(".reasons").text_content()            # the checks at 100 %
    assert "checked at 100 %" in text(page, "#cull-checks")
    other = page.locator(f"#bursts .frame[data-id='{byname['burst_0.jpg']}'] .reasons")
    assert "rated another frame higher" in other.text_content()
    assert page.locator(f"#bursts .frame[data-id='{byname['burst_1.jpg']}'] .reasons").count() == 0   # the pick
    shot(page, shots / "cull.jpg")
    # compare two frames at 100 %, pan kept in step
    page.keyboard.press("c")
    page.wait_for_selector("#compare:not([hidden])")
    page.wait_for_function("['a', 'b'].every(s => document.getElementById('compare-img-' + s).naturalWidth > 0)")
    page.keyboard.press("z")
    page.wait_for_selector("#compare.zoomed")
    page.wait_for_function("['a', 'b'].every(s => { const i = document.getElementById('compare-img-' + s);"
                           "return i.src.endsWith('/original') && i.complete && i.naturalWidth === 1200; })")
    assert page.evaluate("document.getElementById('compare-img-a').getBoundingClientRect().width") == 1200  # 100 %
    page.evaluate("(() => { const a = document.getElementById('compare-a'); a.scrollLeft = 100; a.scrollTop = 80; })()")
    page.wait_for_function("(() => { const a = document.getElementById('compare-a'), b = document.getElementById('compare-b');"
                           "return Math.abs(b.scrollLeft - a.scrollLeft) <= 1 && Math.abs(b.scrollTop - a.scrollTop) <= 1"
                           " && a.scrollLeft > 0; })()")
    shot(page, shots / "compare.jpg")
    page.keyboard.press("Escape")
    page.wait_for_selector("#compare", state="hidden")
    api.delete(f"/api/ratings/{byname['burst_1.jpg']}")
    api.put(f"/api/marks/{byname['burst_2.jpg']}", json={"flag": None, "label": None})
    assert not errors, errors
    ctx.close()
    api.close()


def test_phone_rating_everywhere_swipes_compact_navigation_and_no_key_hints(browser, site, shots):
    ctx, page, errors, api, _ = visit(browser, site, "uma", phone=True)
    nav = page.locator("header").bounding_box()
    assert nav["height"] <= 60, nav                                    # one compact row, not ~300 px
    assert not page.locator(".hint:visible").count()                   # no keyboard hints on a touch screen
    first = text(page, "#rate-name")
    swipe(page, "#stars-mode", -120)                                   # swipe to the next photo
    page.wait_for_function(f"document.getElementById('rate-name').textContent !== {first!r}")
    page.tap("#mode-pairs")
    page.wait_for_function("document.getElementById('pair-left').naturalWidth > 0")
    left = page.get_attribute("#pair-left", "src")
    assert page.locator("#pair-skip").is_visible()
    page.tap("#pair-skip")                                              # skip without a keyboard
    page.wait_for_function(f"document.getElementById('pair-left').getAttribute('src') !== {left!r} || "
                           "document.getElementById('rate-msg').textContent.includes('Skipped')")
    page.tap("#mode-stars")
    # the photo view: stars and flags on screen, swipe, the photo not covered by the info panel
    page.tap("#tab-library")
    page.wait_for_selector("#grid li > button.card")
    page.wait_for_function("document.querySelectorAll('#grid .line').length > 4")
    assert page.evaluate("Array.from(document.querySelectorAll('#grid .line'))"
                         ".filter(l => l.getBoundingClientRect().height > 26).length") == 0   # no line wraps at 390 px
    page.tap("#grid li:nth-child(1) > button.card")
    page.wait_for_selector("#viewer:not([hidden])")
    assert not page.is_visible("#viewer-info")
    stage = page.locator("#viewer-stage").bounding_box()
    assert stage["height"] >= 0.5 * 844, stage
    shown = int(page.get_attribute("#v-download", "href").split("/")[3])
    page.tap(".viewer-rate button[data-vrate='4']")
    page.wait_for_function("document.querySelector(\".viewer-rate button[data-vrate='4']\").classList.contains('current')")
    assert any(r["image"] == shown and r["rating"] == 4 for r in api.get("/api/ratings").json()["ratings"])
    page.tap(".viewer-rate button[data-vflag='pick']")
    page.wait_for_function("document.getElementById('viewer-marks').textContent.includes('pick')")
    for b in page.locator(".viewer-rate button").all():
        box = b.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] >= 36
    shot(page, shots / "phone-viewer.jpg")
    before = text(page, "#viewer-name")
    swipe(page, "#viewer-stage", -120)
    page.wait_for_function(f"document.getElementById('viewer-name').textContent !== {before!r}")
    page.tap("#v-info")
    assert page.is_visible("#viewer-info")
    page.tap("#v-close")
    api.put(f"/api/marks/{shown}", json={"flag": None, "label": None})
    # cull: file names wrap, nothing cut off
    page.tap("#tab-cull")
    page.wait_for_selector("#bursts .frame")
    cut = page.evaluate("Array.from(document.querySelectorAll('#bursts .frame .name'))"
                        ".filter(e => e.scrollWidth > e.clientWidth + 1).length")
    assert cut == 0 and page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, shots / "phone-cull.jpg")
    assert not errors, errors
    ctx.close()
    api.close()


def test_feedback_rescan_sharing_reasons_team_stars_and_small_photos(browser, site, browser_library, shots):
    ctx, page, errors, api, byname = visit(browser, site, "tess")
    # a photo below the minimum size is never offered for rating
    for _ in range(3):
        offered = [im["name"] for im in api.get("/api/suggestions", params={"n": 200}).json()["images"]]
        assert "tiny.jpg" not in offered
    for _ in range(10):
        pair = [im["name"] for im in api.get("/api/suggestions/pair").json()["images"]]
        assert "tiny.jpg" not in pair
    # the disabled XMP write says why on the page, not only in a tooltip
    page.click("#tab-profile")
    page.wait_for_selector("#xmp-write-why:visible")
    assert page.is_disabled("#xmp-write") and "--allow-xmp-write" in text(page, "#xmp-write-why")
    # the Team view shows the person's own stars beside the others'
    api.put("/api/me", json={"share_ratings": True})
    api.put(f"/api/ratings/{byname['photo_001.jpg']}", json={"rating": 3})
    page.reload()
    page.wait_for_selector("#view-rate:not([hidden])")
    page.click("#tab-team")
    page.wait_for_function("document.getElementById('team-grid').textContent.includes('you ★')")
    # the why dialog keeps its padding after key presses
    page.click("#tab-library")
    page.wait_for_selector("#grid li > button.card")
    page.focus("#grid li:nth-child(1) > button.card")
    page.keyboard.press("Enter")
    page.wait_for_selector("#viewer:not([hidden])")
    page.keyboard.press("w")
    page.wait_for_function("document.getElementById('why-text').textContent.includes('of 5')")
    for key in ("Tab", "ArrowDown", "Tab", "End"):
        page.keyboard.press(key)
    pad = page.evaluate("(() => { const b = document.querySelector('#why .dialog-body').getBoundingClientRect(),"
                        "t = document.getElementById('why-text').getBoundingClientRect(),"
                        "d = document.getElementById('why').getBoundingClientRect(); return t.left - d.left; })()")
    assert pad >= 12, pad
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    # "look for new photos" says what it found
    new = browser_library / "sub" / "found_later.jpg"
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(new)
    try:
        page.click("#rescan")
        page.wait_for_function("document.getElementById('library-msg').textContent.startsWith('Found 1 new photo')",
                               timeout=120_000)
        shot(page, shots / "rescan.jpg")
    finally:
        new.unlink()
    page.click("#rescan")
    page.wait_for_function("document.getElementById('library-msg').textContent.includes('1 removed')", timeout=120_000)
    api.delete(f"/api/ratings/{byname['photo_001.jpg']}")
    assert not errors, errors
    ctx.close()
    api.close()
