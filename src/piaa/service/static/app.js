// piaa serve — the page: sign in, Rate (stars, flags, labels, pairs), Library (filtered, paged, photo view),
// Cull (bursts), Team, Profile (XMP both ways), Account (password, invitations, members).
// Plain JS, no build step. Talks to the same JSON API as any client; authenticated by the HttpOnly session
// cookie, every state-changing request carries the X-CSRF-Token the sign-in returned.
"use strict";

const $ = (id) => document.getElementById(id);
const PAGE = 24;                       // tiles per request: /api/ranking is paged, never asked for everything
const LABEL_KEYS = { "6": "red", "7": "yellow", "8": "green", "9": "blue" };
const S = { csrf: null, user: null, me: null, view: null, mode: "stars", queue: [], pos: 0, mine: new Map(),
            marks: new Map(), minRatings: 10, profileFrom: null, fitting: false, refitWanted: false, pair: null,
            signup: false, polling: null, chain: Promise.resolve(), lib: [], libTotal: 0, libQuery: "",
            libLoading: false, viewer: null, bursts: [], burstPos: 0, memberPos: 0, team: [], teamTotal: 0 };

// Every action that changes what is shown runs after the previous one finished: a quick double key press
// rates the photo on screen, then the next one — never the same photo twice while the next is skipped.
function serial(fn) {
  const run = S.chain.then(fn);
  S.chain = run.catch(() => {});
  return run;
}

async function api(method, path, body) {
  const opt = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) { opt.headers["Content-Type"] = "application/json"; opt.body = JSON.stringify(body); }
  if (S.csrf && method !== "GET") opt.headers["X-CSRF-Token"] = S.csrf;
  const r = await fetch(path, opt);
  let data = null;
  if (r.status !== 204) { try { data = await r.json(); } catch (e) { data = null; } }
  if (r.status === 401 && path !== "/api/session" && path !== "/api/me/password") { showLogin(); }
  if (!r.ok) {
    const d = data && data.detail;
    const msg = typeof d === "string" ? d : (Array.isArray(d) ? d.map((x) => x.msg).join("; ") : r.statusText);
    const err = new Error(msg); err.status = r.status; throw err;
  }
  return data;
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}
const imgUrl = (id, size) => `/api/images/${id}` + (size ? `?size=${size}` : "");
const starsText = (r) => r == null ? "–" : "★".repeat(Math.round(r));
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

// A photo that cannot be shown says so (and why), instead of vanishing.
async function brokenReason(id) {
  try {
    const r = await fetch(imgUrl(id, "thumb"), { credentials: "same-origin" });
    if (r.ok) return "could not be shown";
    const d = await r.json();
    return typeof d.detail === "string" ? d.detail : "could not be shown";
  } catch (e) { return "could not be shown"; }
}
function brokenTile(text) { return el("p", { class: "broken", text: "⚠ " + text }); }
function guardImage(img, id, onBroken) {
  img.addEventListener("error", async () => { onBroken(await brokenReason(id)); }, { once: true });
}

function marksNode(id) {
  const m = S.marks.get(id) || {};
  const out = el("span", { class: "marks" });
  if (m.flag === "pick") out.append(el("span", { class: "flag-pick", text: "⚑ pick", title: "picked" }));
  if (m.flag === "reject") out.append(el("span", { class: "flag-reject", text: "✕ rejected", title: "rejected" }));
  if (m.label) out.append(el("span", { class: `dot ${m.label}`, title: `${m.label} label`, "aria-label": `${m.label} label` }));
  return out;
}

// ---- views ---------------------------------------------------------------------------------------------------
const VIEWS = ["login", "rate", "library", "cull", "team", "profile", "account"];
function show(view) {
  S.view = view;
  for (const v of VIEWS) $("view-" + v).hidden = v !== view;
  for (const b of document.querySelectorAll("nav button")) {
    if (b.dataset.view === view) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  if (view === "rate") startRate();
  if (view === "library") loadLibrary(true);
  if (view === "cull") loadBursts();
  if (view === "team") loadTeam(true);
  if (view === "profile") loadProfile();
  if (view === "account") loadAccount();
}

function showLogin() {
  S.user = null; S.csrf = null;
  $("nav").hidden = true; $("signout").hidden = true; $("who").textContent = "";
  $("signup-button").hidden = !S.signup && $("invite-label").hidden;
  closeViewer();
  show("login");
  $("login-user").focus();
}

async function signedIn(info) {
  S.user = info.username; S.csrf = info.csrf;
  Object.assign(S, { queue: [], pos: 0, pair: null, skipped: [], lib: [], libQuery: "", bursts: [], burstPos: 0,
                     team: [], profileFrom: null });     // nothing of a previous person on this browser
  $("who").textContent = info.username;
  $("nav").hidden = false; $("signout").hidden = false;
  const me = await api("GET", "/api/me");
  S.me = me;
  S.minRatings = me.min_ratings;
  S.comparisons = me.comparisons;
  S.profileFrom = me.profile ? basisText(me.profile) : null;
  const r = await api("GET", "/api/ratings");
  S.mine = new Map(r.ratings.map((x) => [x.image, x.rating]));
  const m = await api("GET", "/api/marks");
  S.marks = new Map(m.marks.map((x) => [x.image, { flag: x.flag, label: x.label }]));
  pollProgress();
  show("rate");
}

async function login(ev) {
  ev.preventDefault();
  $("login-error").textContent = "";
  const body = { username: $("login-user").value.trim(), password: $("login-pass").value };
  try {
    const info = await api("POST", "/api/session", body);
    $("login-pass").value = "";
    await signedIn(info);
  } catch (e) { $("login-error").textContent = e.message; }
}

async function signup() {
  $("login-error").textContent = "";
  const body = { username: $("login-user").value.trim(), password: $("login-pass").value };
  const invite = $("login-invite").value.trim();
  if (invite) body.invite = invite;
  try {
    await api("POST", "/api/signup", body);
    const info = await api("POST", "/api/session", { username: body.username, password: body.password });
    $("login-pass").value = ""; $("login-invite").value = "";
    await signedIn(info);
  } catch (e) { $("login-error").textContent = e.message; }
}

function showInvite() {
  $("invite-label").hidden = false; $("signup-button").hidden = false; $("invite-button").hidden = true;
  $("login-invite").focus();
}

async function signout() {
  try { await api("DELETE", "/api/session"); } catch (e) { /* already gone */ }
  showLogin();
}

async function pollProgress() {
  clearTimeout(S.polling);
  if (!S.user) return;
  try {
    const p = await api("GET", "/api/library");
    const bar = $("progress");
    if (p.state === "ready") { bar.hidden = true; return; }
    bar.hidden = false;
    bar.textContent = p.state === "error" ? `Photo analysis failed: ${p.message}`
      : `Analysing photos: ${p.done} of ${p.total}` + (p.failed ? ` (${p.failed} unreadable)` : "") + " …";
    if (p.state !== "error") S.polling = setTimeout(pollProgress, 1500);
  } catch (e) { /* signed out */ }
}

// ---- marks (stars, flags, labels) shared by every view ---------------------------------------------------------
async function setStars(id, stars) {
  if (stars === 0) {
    if (!S.mine.has(id)) return false;
    await api("DELETE", `/api/ratings/${id}`);
    S.mine.delete(id);
  } else {
    await api("PUT", `/api/ratings/${id}`, { rating: stars });
    S.mine.set(id, stars);
  }
  return true;
}

async function setMarks(id, change) {
  const cur = S.marks.get(id) || { flag: null, label: null };
  const body = { flag: "flag" in change ? change.flag : cur.flag, label: "label" in change ? change.label : cur.label };
  const stored = await api("PUT", `/api/marks/${id}`, body);
  S.marks.set(id, { flag: stored.flag, label: stored.label });
  return stored;
}

function toggleLabel(id, label) {
  const cur = (S.marks.get(id) || {}).label;
  return setMarks(id, { label: cur === label ? null : label });
}

// ---- Rate ----------------------------------------------------------------------------------------------------
function countText() {
  const n = S.mine.size;
  const prof = S.profileFrom ? `profile from ${S.profileFrom}` :
    (n >= S.minRatings ? "building your profile…" : `profile after ${S.minRatings} ratings`);
  $("rate-count").textContent = `${n} rated · ${prof}`;
}

async function more(n) {
  const r = await api("GET", `/api/suggestions?n=${n}`);
  const seen = new Set(S.queue.map((x) => x.id));
  for (const im of r.images) if (!seen.has(im.id)) S.queue.push(im);
  return r.images.length;
}

async function startRate() {
  countText();
  if (S.mode === "pairs") return nextPair();
  if (S.pos >= S.queue.length) await more(20);
  renderRate();
}

function renderRate() {
  const cur = S.queue[S.pos];
  const img = $("rate-img");
  $("rate-broken").hidden = true;
  for (const b of document.querySelectorAll(".stars button, .flags button")) b.classList.remove("current");
  if (!cur) {
    img.hidden = true; $("rate-name").textContent = ""; $("rate-marks").replaceChildren();
    $("rate-msg").textContent = "You have rated every photo. See the Library, or look for new photos there.";
    return;
  }
  img.hidden = false;
  const fresh = img.cloneNode(false);            // a new element: an old error listener never fires for it
  img.replaceWith(fresh);
  guardImage(fresh, cur.id, (why) => {
    fresh.hidden = true;
    $("rate-broken").hidden = false;
    $("rate-broken").textContent = `⚠ This photo cannot be shown: ${why}. Press → to go on.`;
  });
  fresh.src = imgUrl(cur.id);
  fresh.alt = `photo ${cur.name}`;
  $("rate-name").textContent = `${cur.name}`;
  $("rate-marks").replaceWith(Object.assign(marksNode(cur.id), { id: "rate-marks" }));
  const mine = S.mine.get(cur.id);
  if (mine != null) {
    const b = document.querySelector(`.stars button[data-rate="${Math.round(mine)}"]`);
    if (b) b.classList.add("current");
  }
  const m = S.marks.get(cur.id) || {};
  if (m.flag) document.querySelector(`.flags button[data-flag="${m.flag}"]`).classList.add("current");
  if (m.label) { const b = document.querySelector(`.flags button[data-label="${m.label}"]`); if (b) b.classList.add("current"); }
  $("rate-msg").textContent = mine != null ? `You gave it ${starsText(mine)}` : "";
  const nxt = S.queue[S.pos + 1];
  if (nxt) { const pre = new Image(); pre.src = imgUrl(nxt.id); }
}

async function rate(stars) {
  const cur = S.queue[S.pos];
  if (!cur) return;
  try {
    if (!(await setStars(cur.id, stars))) return;
  } catch (e) { $("rate-msg").textContent = e.message; return; }
  countText();
  if (stars === 0) { renderRate(); $("rate-msg").textContent = "Stars cleared."; return; }
  await move(1);
  maybeRefit();
}

async function markCurrent(change) {
  const cur = S.queue[S.pos];
  if (!cur) return;
  try {
    if (change.toggle) await toggleLabel(cur.id, change.toggle); else await setMarks(cur.id, change);
  } catch (e) { $("rate-msg").textContent = e.message; return; }
  renderRate();
}

async function move(step) {
  const to = S.pos + step;
  if (to < 0) return;
  if (to >= S.queue.length) await more(20);
  S.pos = Math.min(to, S.queue.length);
  renderRate();
}

function basisText(p) {
  return plural(p.n_ratings, "rating") + (p.n_comparisons ? ` + ${plural(p.n_comparisons, "comparison")}` : "");
}

function judgements() { return S.mine.size + (S.comparisons || 0); }

async function maybeRefit() {
  if (judgements() < S.minRatings) return;
  if (S.fitting) { S.refitWanted = true; return; }
  S.fitting = true;
  try {
    do {
      S.refitWanted = false;
      const p = await api("POST", "/api/profile");
      S.profileFrom = basisText(p);
      countText();
    } while (S.refitWanted);
  } catch (e) {
    if (e.status !== 409) $("rate-msg").textContent = e.message;
  } finally { S.fitting = false; }
}

function setMode(mode) {
  S.mode = mode;
  $("mode-stars").setAttribute("aria-pressed", String(mode === "stars"));
  $("mode-pairs").setAttribute("aria-pressed", String(mode === "pairs"));
  $("stars-mode").hidden = mode !== "stars";
  $("pairs-mode").hidden = mode !== "pairs";
  $("rate-msg").textContent = "";
  startRate();
}

// community (issue 21): ↓ skip leaves the shown pair out of the next suggestions (the server never repeats a
// compared pair by itself, so only skipped ones need saying)
async function nextPair(skip) {
  let ims;
  if (skip && S.pair) { S.skipped = (S.skipped || []).concat([`${S.pair[0].id}-${S.pair[1].id}`]).slice(-50); }
  const q = S.skipped && S.skipped.length ? "?skip=" + encodeURIComponent(S.skipped.join(",")) : "";
  try { ims = (await api("GET", "/api/suggestions/pair" + q)).images; }
  catch (e) { $("rate-msg").textContent = e.message; return; }
  S.pair = ims;
  $("pair-left").src = imgUrl(ims[0].id); $("pair-left").alt = `left: ${ims[0].name}`;
  $("pair-right").src = imgUrl(ims[1].id); $("pair-right").alt = `right: ${ims[1].name}`;
}

async function pick(side) {
  if (!S.pair) return;
  const [a, b] = S.pair;
  const body = side === "left" ? { better: a.id, worse: b.id } : { better: b.id, worse: a.id };
  S.pair = null;
  try { await api("POST", "/api/comparisons", body); } catch (e) { $("rate-msg").textContent = e.message; return; }
  S.comparisons = (S.comparisons || 0) + 1;
  await nextPair();
  const where = window.matchMedia("(max-width: 600px)").matches ? (side === "left" ? "top" : "bottom") : side;
  $("rate-msg").textContent = `Noted: you preferred the ${where} one (${side}). Next pair:`;
  maybeRefit();
}

// community (issue 21): when a ranking comes from the library's taste, say so and how many people taught it
function libraryWords(r, withProfile) {
  const t = r.library_taste;
  if (!t) return "";
  const who = `${t.people} ${t.people === 1 ? "person" : "people"} who share their ratings`;
  return withProfile
    ? ` Your profile starts from the library's taste, learned from ${who}.`
    : `Sorted by the library's taste: what ${who} liked${S.mine.size ? ", adjusted by your own stars" : ""}. Rate photos to make it yours.`;
}

// ---- Library -------------------------------------------------------------------------------------------------
function libraryQuery() {
  const q = new URLSearchParams({ order: $("f-order").value });
  if ($("f-stars").value) q.set("min_stars", $("f-stars").value);
  if ($("f-flag").value) q.set("flag", $("f-flag").value);
  if ($("f-folder").value.trim()) q.set("folder", $("f-folder").value.trim());
  return q.toString();
}

function tile(im, k, onopen) {
  const mine = S.mine.has(im.id) ? S.mine.get(im.id) : im.rating;
  const label = `${k + 1}. ${im.name}: ${mine != null ? "you gave " + mine + " stars, " : ""}predicted ${im.stars} stars` +
    (im.quality != null ? `, quality ${im.quality.toFixed(2)}` : "") + ". Open";
  const img = el("img", { src: imgUrl(im.id, "thumb"), alt: "", loading: "lazy" });
  const b = el("button", { type: "button", "data-id": String(im.id), "aria-label": label, onclick: onopen }, img,
    el("span", { class: "line" }, el("span", { class: "mine", text: mine != null ? `yours ${starsText(mine)}` : "" }),
       el("span", { text: `predicted ${starsText(im.stars)}` })),
    el("span", { class: "line" }, el("span", { text: `#${k + 1}` }), marksNode(im.id),
       el("span", { title: "technical quality", text: im.quality != null ? `Q ${im.quality.toFixed(2)}` : "" })));
  guardImage(img, im.id, (why) => img.replaceWith(brokenTile(why)));
  return b;
}

async function loadLibrary(reset) {
  if (S.libLoading) return;
  const query = libraryQuery();
  if (reset || query !== S.libQuery) { S.lib = []; S.libQuery = query; $("grid").replaceChildren(); }
  S.libLoading = true;
  let r;
  try { r = await api("GET", `/api/ranking?${query}&offset=${S.lib.length}&limit=${PAGE}`); }
  catch (e) { $("library-basis").textContent = e.message; S.libLoading = false; return; }
  S.libLoading = false;
  if (libraryQuery() !== S.libQuery) return loadLibrary(true);     // the filters changed meanwhile
  $("library-basis").textContent = r.basis === "profile"
    ? `Sorted by your taste: your own stars where you gave them, your profile's prediction (from ${basisText(r.profile)}) elsewhere.` + libraryWords(r, true)
    : r.basis === "library" ? libraryWords(r, false)
    : "Sorted by the general model until you have a profile (rate at least " + S.minRatings + " photos).";
  if ($("f-order").value !== "taste") $("library-basis").textContent += ` Shown by ${$("f-order").selectedOptions[0].text}.`;
  const start = S.lib.length;
  for (const im of r.images) {
    S.lib.push(im);
    for (const k of ["flag", "label"]) if (k in im) S.marks.set(im.id, { flag: im.flag, label: im.label });
  }
  S.libTotal = r.total;
  r.images.forEach((im, j) => {
    const k = start + j;
    $("grid").append(el("li", {}, tile(im, k, () => openViewer(k))));
  });
  $("more").hidden = S.lib.length >= r.total;
  $("more").textContent = `Show more (${S.lib.length} of ${r.total})`;
  if (start === 0) {
    $("library-unscored").textContent = r.unscored ? `${plural(r.unscored, "photo")} could not be analysed (yet).` : "";
    if (r.unscored) listUnscored();
  }
  moreIfInView();
}

// The next page when the end of the grid is on screen (the observer only reports changes of visibility).
function moreIfInView() {
  const b = $("more");
  if (b.hidden || S.view !== "library") return;
  const r = b.getBoundingClientRect();
  if (r.top < window.innerHeight + 200) setTimeout(() => loadLibrary(false), 0);
}

async function listUnscored() {
  const out = $("library-unscored");
  const bad = [];
  for (let off = 0; ; off += 1000) {
    let r;
    try { r = await api("GET", `/api/images?offset=${off}&limit=1000`); } catch (e) { return; }
    for (const im of r.images) if (im.error) bad.push(`${im.name} (${im.error})`);
    if (off + 1000 >= r.total) break;
  }
  if (bad.length) out.textContent = `${plural(bad.length, "photo")} cannot be read: ${bad.slice(0, 20).join(", ")}` +
    (bad.length > 20 ? ` and ${bad.length - 20} more` : "") + ".";
}

async function rescan() {
  await api("POST", "/api/library/rescan");
  pollProgress();
  setTimeout(() => loadLibrary(true), 2000);
}

async function openWhy(id) {
  const d = $("why");
  $("why-title").textContent = "Why this place?";
  $("why-text").textContent = "…";
  $("why-similar").replaceChildren();
  if (!d.open) d.showModal();
  try {
    const w = await api("GET", `/api/images/${id}/why`);
    $("why-title").textContent = w.name;
    $("why-text").textContent = w.explanation;
    for (const s of w.similar) {
      $("why-similar").append(el("li", {}, el("img", { src: imgUrl(s.id, "thumb"), alt: s.name }),
        el("span", { text: `${starsText(s.rating)} · ${s.name}` })));
    }
  } catch (e) { $("why-text").textContent = e.message; }
}

// ---- the photo view (full screen) ----------------------------------------------------------------------------
function openViewer(k, list) {
  S.viewer = { list: list || S.lib, k, zoom: false, info: null, back: document.activeElement };
  $("viewer").hidden = false;
  $("viewer").focus();
  renderViewer();
}

function closeViewer() {
  if (!S.viewer) return;
  const back = S.viewer.back;
  S.viewer = null;
  $("viewer").hidden = true;
  if (S.view === "library") refreshTiles();
  if (back && back.focus) back.focus();
}

function refreshTiles() {
  for (const b of document.querySelectorAll("#grid li > button")) {
    const id = Number(b.dataset.id);
    const old = b.querySelector(".marks");
    if (old) old.replaceWith(marksNode(id));
    const mine = b.querySelector(".mine");
    if (mine) mine.textContent = S.mine.has(id) ? `yours ${starsText(S.mine.get(id))}` : "";
  }
}

async function renderViewer() {
  const v = S.viewer;
  if (!v) return;
  const im = v.list[v.k];
  const total = v.list === S.lib ? S.libTotal : v.list === S.team ? S.teamTotal : v.list.length;
  $("viewer-name").textContent = `${v.k + 1} / ${total} · ${im.name}`;
  $("viewer-marks").replaceWith(Object.assign(marksNode(im.id), { id: "viewer-marks" }));
  const mine = S.mine.get(im.id);
  if (mine != null) $("viewer-marks").prepend(el("span", { class: "mine", text: starsText(mine) }));
  $("v-download").href = `/api/images/${im.id}/original`;
  $("v-prev").disabled = v.k === 0;
  $("v-next").disabled = v.k >= v.list.length - 1 && v.list === S.lib && S.lib.length >= S.libTotal;
  const stage = $("viewer-stage");
  stage.classList.toggle("zoomed", v.zoom);
  $("v-zoom").textContent = v.zoom ? "Fit" : "100 %";
  $("viewer-broken").hidden = true;
  const old = $("viewer-img");
  const img = old.cloneNode(false);
  old.replaceWith(img);
  img.hidden = false;
  guardImage(img, im.id, (why) => { img.hidden = true; $("viewer-broken").hidden = false;
    $("viewer-broken").textContent = `⚠ This photo cannot be shown: ${why}`; });
  img.alt = im.name;
  if (!v.info || v.info.id !== im.id) {
    img.src = imgUrl(im.id);
    try { v.info = await api("GET", `/api/images/${im.id}/info`); } catch (e) { v.info = { id: im.id, error: e.message }; }
    if (S.viewer !== v || v.list[v.k].id !== im.id) return;
    renderInfo(v.info);
  }
  const full = v.zoom && v.info && v.info.original && v.info.original.browser_viewable;
  img.src = full ? `/api/images/${im.id}/original` : imgUrl(im.id);
}

function renderInfo(info) {
  const dl = $("exif");
  dl.replaceChildren();
  const canvas = $("histogram");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (info.error) { dl.append(el("dt", { text: "Info" }), el("dd", { text: info.error })); return; }
  const e = info.exif || {};
  const rows = [["Camera", e.camera], ["Lens", e.lens], ["Exposure", e.exposure], ["Aperture", e.aperture],
    ["ISO", e.iso], ["Focal length", e.focal_length && (e.focal_length + (e.focal_length_35mm ? ` (${e.focal_length_35mm} in 35 mm)` : ""))],
    ["Exposure bias", e.exposure_bias], ["Taken", e.taken && new Date(e.taken).toLocaleString()],
    ["Size", e.width && `${e.width} × ${e.height}`], ["Quality", info.quality != null ? info.quality.toFixed(2) : null],
    ["File", info.original && `${info.original.media_type}, ${(info.original.bytes / 1e6).toFixed(1)} MB`]];
  for (const [k, val] of rows) if (val != null && val !== "") dl.append(el("dt", { text: k }), el("dd", { text: String(val) }));
  const h = info.histogram;
  if (!h) { dl.append(el("dt", { text: "Histogram" }), el("dd", { text: info.histogram_error || "not available" })); return; }
  const peak = Math.max(...h.r, ...h.g, ...h.b, ...h.luma) || 1;
  const w = canvas.width / h.bins;
  ctx.globalCompositeOperation = "lighter";
  for (const [ch, colour] of [["r", "rgba(220,60,60,.8)"], ["g", "rgba(60,200,90,.8)"], ["b", "rgba(70,110,230,.8)"]]) {
    ctx.fillStyle = colour;
    h[ch].forEach((c, i) => { const y = (c / peak) * canvas.height; ctx.fillRect(i * w, canvas.height - y, w, y); });
  }
  ctx.globalCompositeOperation = "source-over";
  ctx.strokeStyle = "rgba(240,240,240,.9)";
  ctx.beginPath();
  h.luma.forEach((c, i) => { const y = canvas.height - (c / peak) * canvas.height; if (i) ctx.lineTo(i * w + w / 2, y); else ctx.moveTo(w / 2, y); });
  ctx.stroke();
}

async function viewerStep(step) {
  const v = S.viewer;
  if (!v) return;
  const to = v.k + step;
  if (to < 0) return;
  if (to >= v.list.length) {
    if (v.list !== S.lib || S.lib.length >= S.libTotal) return;
    await loadLibrary(false);
    if (to >= v.list.length) return;
  }
  v.k = to;
  v.zoom = false;
  await renderViewer();
}

async function viewerMark(fn) {
  const v = S.viewer;
  if (!v) return;
  try { await fn(v.list[v.k].id); } catch (e) { $("viewer-name").textContent = e.message; return; }
  renderViewer();
}

// ---- Cull (bursts) -------------------------------------------------------------------------------------------
async function loadBursts() {
  $("cull-msg").textContent = "Looking for bursts and near-duplicates…";
  let r;
  try { r = await api("GET", "/api/bursts"); } catch (e) { $("cull-msg").textContent = e.message; return; }
  S.bursts = r.groups;
  for (const g of r.groups) for (const m of g.members) S.marks.set(m.id, { flag: m.flag, label: m.label });
  S.burstPos = Math.min(S.burstPos, Math.max(0, r.groups.length - 1));
  S.memberPos = 0;
  $("cull-count").textContent = `${plural(r.groups.length, "group")} · ${plural(r.photos_in_groups, "photo")}`;
  $("cull-msg").textContent = r.groups.length ? "" : "No bursts or near-duplicates in this library.";
  renderBursts();
}

function burstPick(g) {
  const own = g.members.find((m) => (S.marks.get(m.id) || {}).flag === "pick");
  return own ? own.id : g.pick;
}

function renderBursts() {
  const list = $("bursts");
  list.replaceChildren();
  S.bursts.forEach((g, gi) => {
    const members = el("div", { class: "members", role: "group", "aria-label": `group ${gi + 1}` });
    g.members.forEach((m, mi) => {
      const img = el("img", { src: imgUrl(m.id, "thumb"), alt: "" });
      const b = el("button", { type: "button", "data-id": String(m.id),
        class: (m.id === g.pick ? "suggested" : "") + (gi === S.burstPos && mi === S.memberPos ? " focus" : ""),
        "aria-label": `${m.name}${m.id === g.pick ? " (suggested pick)" : ""}`,
        onclick: () => serial(() => pickInBurst(gi, m.id)) }, img,
        el("span", { text: m.name }), marksNode(m.id),
        el("span", { text: (m.id === g.pick ? "suggested · " : "") + (m.quality != null ? `Q ${m.quality.toFixed(2)}` : "") }));
      guardImage(img, m.id, (why) => img.replaceWith(brokenTile(why)));
      members.append(b);
    });
    list.append(el("li", { class: gi === S.burstPos ? "current" : "", "data-group": String(gi) },
      el("div", { class: "line" }, el("strong", { text: `Group ${gi + 1}` }),
         el("span", { class: "muted", text: ` ${plural(g.members.length, "photo")} · suggested: ${nameOf(g, g.pick)} (${g.reason})` })),
      members,
      el("div", { class: "row" },
        el("button", { type: "button", class: "secondary", text: "Take the suggestion", onclick: () => serial(() => pickInBurst(gi, g.pick)) }),
        el("button", { type: "button", class: "secondary", text: "Reject the rest", onclick: () => serial(() => rejectRest(gi)) }))));
  });
  const cur = list.querySelector("li.current");
  if (cur && cur.scrollIntoView) cur.scrollIntoView({ block: "nearest" });
}

function nameOf(g, id) { const m = g.members.find((x) => x.id === id); return m ? m.name : String(id); }

async function pickInBurst(gi, id) {
  const g = S.bursts[gi];
  if (!g) return;
  for (const m of g.members) {      // one pick per group: an earlier pick of this group is unflagged
    const f = (S.marks.get(m.id) || {}).flag;
    if (m.id === id && f !== "pick") await setMarks(m.id, { flag: "pick" });
    else if (m.id !== id && f === "pick") await setMarks(m.id, { flag: null });
  }
  $("cull-msg").textContent = `Group ${gi + 1}: ${nameOf(g, id)} is your pick.`;
  renderBursts();
}

async function rejectRest(gi) {
  const g = S.bursts[gi];
  if (!g) return;
  const keep = burstPick(g);
  if ((S.marks.get(keep) || {}).flag !== "pick") await setMarks(keep, { flag: "pick" });
  for (const m of g.members) if (m.id !== keep && (S.marks.get(m.id) || {}).flag !== "reject") await setMarks(m.id, { flag: "reject" });
  $("cull-msg").textContent = `Group ${gi + 1}: kept ${nameOf(g, keep)}, rejected ${plural(g.members.length - 1, "other")}.`;
  if (S.burstPos < S.bursts.length - 1) { S.burstPos += 1; S.memberPos = 0; }
  renderBursts();
}

function cullKey(ev) {
  const g = S.bursts[S.burstPos];
  if (!g) return false;
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    S.burstPos = Math.max(0, Math.min(S.bursts.length - 1, S.burstPos + (ev.key === "ArrowDown" ? 1 : -1)));
    S.memberPos = 0; renderBursts(); return true;
  }
  if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
    S.memberPos = Math.max(0, Math.min(g.members.length - 1, S.memberPos + (ev.key === "ArrowRight" ? 1 : -1)));
    renderBursts(); return true;
  }
  if (ev.key === "Enter") { serial(() => pickInBurst(S.burstPos, g.pick)); return true; }
  if (ev.key === " ") { serial(() => pickInBurst(S.burstPos, g.members[S.memberPos].id)); return true; }
  if (ev.key === "r" || ev.key === "R") { serial(() => rejectRest(S.burstPos)); return true; }
  return false;
}

function bar(share) {                 // CSSOM, not a style attribute: the page's CSP allows no inline styles
  const d = el("div");
  d.style.width = `${Math.round(100 * share)}%`;
  return d;
}

// ---- Team ----------------------------------------------------------------------------------------------------
async function loadTeam(reset) {
  if (reset) { S.team = []; $("team-grid").replaceChildren(); }
  const me = S.me || {};
  $("share-label").hidden = typeof me.share_ratings !== "boolean";   // GET/PUT /api/me share_ratings
  $("share").checked = !!me.share_ratings;
  let r;
  try { r = await api("GET", `/api/team/ranking?offset=${S.team.length}&limit=${PAGE}`); }
  catch (e) { $("team-basis").textContent = e.message; return; }
  S.teamTotal = r.total;
  $("team-basis").textContent = r.members.length
    ? `Ordered by the combined taste of ${plural(r.members.length, "member")} who share their ratings (${r.members.join(", ")}). ` +
      "The green bar says how alike the stars of those who rated a photo are (two or more ratings needed)." + (r.you_share ? "" : " You do not share your ratings, so you see no one's stars.")
    : "Nobody shares ratings yet.";
  const start = S.team.length;
  r.images.forEach((im, j) => {
    S.team.push(im);
    const k = start + j;
    const img = el("img", { src: imgUrl(im.id, "thumb"), alt: "", loading: "lazy" });
    guardImage(img, im.id, (why) => img.replaceWith(brokenTile(why)));
    const others = (im.ratings || []).map((x) => `${x.username} ${starsText(x.rating)}`).join(" · ");
    const agree = im.agreement == null ? "not enough ratings" : `agree ${Math.round(100 * im.agreement)}%`;
    const b = el("button", { type: "button", "data-id": String(im.id),
      "aria-label": `${k + 1}. ${im.name}: team agreement ${im.agreement == null ? "unknown, not enough ratings" : Math.round(100 * im.agreement) + " of 100"}. ${others}`,
      onclick: () => openViewer(k, S.team) }, img,
      el("span", { class: "line" }, el("span", { text: `#${k + 1}` }), el("span", { text: agree })),
      el("div", { class: "agree", "aria-hidden": "true" }, bar(im.agreement || 0)),
      el("span", { class: "line", text: others }));
    $("team-grid").append(el("li", {}, b));
  });
  $("team-more").hidden = S.team.length >= r.total;
}

async function setSharing() {
  try {
    const me = await api("PUT", "/api/me", { share_ratings: $("share").checked });
    S.me = Object.assign(S.me || {}, me);
  } catch (e) { $("team-basis").textContent = e.message; return; }
  loadTeam(true);
}

// ---- Profile -------------------------------------------------------------------------------------------------
async function loadProfile() {
  const me = await api("GET", "/api/me");
  S.me = me;
  const p = me.profile;
  const facts = $("profile-facts");
  facts.replaceChildren();
  if (!p) {
    $("profile-summary").textContent = me.ratings + me.comparisons >= me.min_ratings
      ? "You have rated enough photos: press “Update my profile now”."
      : `No profile yet. Rate at least ${me.min_ratings} photos (you have rated ${me.ratings}).`;
    $("profile-meter").style.width = "0";
  } else {
    $("profile-summary").textContent = p.summary;
    const right = p.assessment && p.assessment.pairs_right_profile;
    $("profile-meter").style.width = right ? `${Math.max(0, Math.min(100, (right - 0.5) * 200))}%` : "0";
    facts.append(el("li", { text: `Learned from ${plural(p.n_ratings, "star rating")} and ${plural(p.n_comparisons, "comparison")}.` }));
    if (p.created) facts.append(el("li", { text: `Last updated ${new Date(p.created).toLocaleString()}.` }));
  }
  facts.append(el("li", { text: `You have rated ${me.ratings} of ${plural(me.total_images, "photo")} and compared ${plural(me.comparisons, "pair")}.` }));
  const owner = me.xmp_owner === me.username;   // a sidecar holds one rating: only the XMP owner's
  $("xmp-owner").textContent = me.xmp_owner_note || "";
  $("xmp-preview").disabled = !owner;
  $("xmp-import").disabled = !owner;
  $("xmp-write").disabled = !owner || !me.xmp_write;
  $("xmp-write").title = !owner ? me.xmp_owner_note
    : me.xmp_write ? "" : "this server does not write into the photo folders (--allow-xmp-write)";
}

async function refit() {
  try { await api("POST", "/api/profile"); } catch (e) { $("profile-summary").textContent = e.message; return; }
  loadProfile();
}

function countsText(counts) {
  return Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ") || "nothing";
}

async function xmpExport(dryRun) {
  const body = { dry_run: dryRun, mine: true, predictions: $("xmp-predictions").checked };
  try {
    const r = await api("POST", "/api/export/xmp", body);
    $("xmp-result").textContent = (dryRun ? "Writing would: " : "Written: ") + countsText(r.counts) + ". " +
      "Your own stars are written as yours; predictions only for photos you have not rated, marked as piaa's; " +
      "ratings set in another tool are kept.";
  } catch (e) { $("xmp-result").textContent = e.message; }
}

async function xmpImport() {
  try {
    const r = await api("POST", "/api/import/xmp", {});
    $("xmp-result").textContent = `Imported ${plural(r.ratings, "rating")}, ${plural(r.labels, "label")} and ` +
      `${plural(r.flags, "flag")} from ${plural(r.photos, "photo")}` +
      (r.kept ? `; kept ${r.kept} you had already rated here` : "") +
      (r.predicted_skipped ? `; ${r.predicted_skipped} piaa predictions ignored` : "") + ".";
    const rr = await api("GET", "/api/ratings");
    S.mine = new Map(rr.ratings.map((x) => [x.image, x.rating]));
    const m = await api("GET", "/api/marks");
    S.marks = new Map(m.marks.map((x) => [x.image, { flag: x.flag, label: x.label }]));
  } catch (e) { $("xmp-result").textContent = e.message; }
}

// ---- Account -------------------------------------------------------------------------------------------------
async function loadAccount() {
  const me = S.me || await api("GET", "/api/me");
  $("admin").hidden = !me.is_admin;
  if (me.is_admin) { loadInvites(); loadMembers(); }
}

async function changePassword(ev) {
  ev.preventDefault();
  try {
    const r = await api("POST", "/api/me/password", { old: $("pw-old").value, new: $("pw-new").value });
    $("pw-msg").textContent = `Password changed; ${plural(r.revoked, "other session or token")} signed out.`;
    $("pw-old").value = ""; $("pw-new").value = "";
  } catch (e) { $("pw-msg").textContent = e.message; }
}

async function createInvite() {
  try {
    const r = await api("POST", "/api/invites");
    $("invite-code").textContent = `${r.code} — valid until ${new Date(r.expires).toLocaleString()}, once.`;
    loadInvites();
  } catch (e) { $("invite-code").textContent = e.message; }
}

async function loadInvites() {
  const r = await api("GET", "/api/invites");
  const ul = $("invite-list");
  ul.replaceChildren();
  for (const inv of r.invites) {
    const state = inv.used_by ? `used by ${inv.used_by}` : (new Date(inv.expires) < new Date() ? "expired" : `open until ${new Date(inv.expires).toLocaleDateString()}`);
    ul.append(el("li", {}, el("span", { text: `#${inv.id} by ${inv.created_by || "?"}: ${state} ` }),
      inv.used_by ? null : el("button", { type: "button", class: "link", text: "withdraw",
        onclick: async () => { await api("DELETE", `/api/invites/${inv.id}`); loadInvites(); } })));
  }
}

async function loadMembers() {
  const r = await api("GET", "/api/users");
  const ul = $("member-list");
  ul.replaceChildren();
  for (const u of r.users) {
    ul.append(el("li", {}, el("span", { text: `${u.username}${u.is_admin ? " (admin)" : ""} · ${plural(u.ratings, "rating")}` }),
      u.username === S.user ? null : el("button", { type: "button", class: "secondary", text: "Remove",
        "aria-label": `remove ${u.username}`, onclick: async () => {
          if (!window.confirm(`Remove ${u.username} and all their ratings?`)) return;
          await api("DELETE", `/api/users/${u.id}`); loadMembers(); } })));
  }
}

// ---- keyboard ------------------------------------------------------------------------------------------------
function markKeys(ev, id, after) {
  const k = ev.key;
  let fn = null;
  if (k >= "0" && k <= "5") fn = () => setStars(id, Number(k));
  else if (k === "p" || k === "P") fn = () => setMarks(id, { flag: "pick" });
  else if (k === "x" || k === "X") fn = () => setMarks(id, { flag: "reject" });
  else if (k === "u" || k === "U") fn = () => setMarks(id, { flag: null });
  else if (LABEL_KEYS[k]) fn = () => toggleLabel(id, LABEL_KEYS[k]);
  if (!fn) return false;
  serial(async () => { await fn(); after(); });
  return true;
}

function onKey(ev) {
  if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const t = ev.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
  if ($("why").open) return;                 // the dialog handles its own keys (Escape closes it)
  if (S.viewer) {
    const k = ev.key;
    let done = true;
    if (k === "Escape") closeViewer();
    else if (k === "ArrowLeft") serial(() => viewerStep(-1));
    else if (k === "ArrowRight") serial(() => viewerStep(1));
    else if (k === "z" || k === "Z") { S.viewer.zoom = !S.viewer.zoom; renderViewer(); }
    else if (k === "i" || k === "I") $("viewer-info").hidden = !$("viewer-info").hidden;
    else if (k === "w" || k === "W") openWhy(S.viewer.list[S.viewer.k].id);
    else done = markKeys(ev, S.viewer.list[S.viewer.k].id, () => renderViewer());
    if (done) ev.preventDefault();
    return;
  }
  if (S.view === "cull") { if (cullKey(ev)) ev.preventDefault(); return; }
  if (S.view !== "rate") return;
  if (S.mode === "stars") {
    const k = ev.key;
    if (k >= "0" && k <= "5") { ev.preventDefault(); serial(() => rate(Number(k))); }
    else if (k === "p" || k === "P") { ev.preventDefault(); serial(() => markCurrent({ flag: "pick" })); }
    else if (k === "x" || k === "X") { ev.preventDefault(); serial(() => markCurrent({ flag: "reject" })); }
    else if (k === "u" || k === "U") { ev.preventDefault(); serial(() => markCurrent({ flag: null })); }
    else if (LABEL_KEYS[k]) { ev.preventDefault(); serial(() => markCurrent({ toggle: LABEL_KEYS[k] })); }
    else if (k === "ArrowLeft") { ev.preventDefault(); serial(() => move(-1)); }
    else if (k === "ArrowRight") { ev.preventDefault(); serial(() => move(1)); }
  } else {
    if (ev.key === "ArrowLeft") { ev.preventDefault(); serial(() => pick("left")); }
    else if (ev.key === "ArrowRight") { ev.preventDefault(); serial(() => pick("right")); }
    else if (ev.key === "ArrowDown") { ev.preventDefault(); serial(() => nextPair(true)); }
  }
}

async function init() {
  $("login-form").addEventListener("submit", login);
  $("signup-button").addEventListener("click", signup);
  $("invite-button").addEventListener("click", showInvite);
  $("signout").addEventListener("click", signout);
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => show(b.dataset.view));
  for (const b of document.querySelectorAll(".stars button")) b.addEventListener("click", () => serial(() => rate(Number(b.dataset.rate))));
  for (const b of document.querySelectorAll(".flags button[data-flag]")) b.addEventListener("click", () => serial(() => markCurrent({ flag: b.dataset.flag || null })));
  for (const b of document.querySelectorAll(".flags button[data-label]")) b.addEventListener("click", () => serial(() => markCurrent({ toggle: b.dataset.label })));
  $("prev").addEventListener("click", () => serial(() => move(-1)));
  $("next").addEventListener("click", () => serial(() => move(1)));
  $("mode-stars").addEventListener("click", () => setMode("stars"));
  $("mode-pairs").addEventListener("click", () => setMode("pairs"));
  $("pick-left").addEventListener("click", () => serial(() => pick("left")));
  $("pick-right").addEventListener("click", () => serial(() => pick("right")));
  $("rescan").addEventListener("click", rescan);
  $("more").addEventListener("click", () => loadLibrary(false));
  $("team-more").addEventListener("click", () => loadTeam(false));
  $("share").addEventListener("change", setSharing);
  for (const id of ["f-order", "f-stars", "f-flag"]) $(id).addEventListener("change", () => loadLibrary(true));
  $("f-folder").addEventListener("change", () => loadLibrary(true));
  $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); loadLibrary(true); });
  if ("IntersectionObserver" in window) {        // page through the ranking as the grid scrolls
    new IntersectionObserver((es) => { if (es.some((e) => e.isIntersecting)) moreIfInView(); }).observe($("more"));
  }
  $("v-prev").addEventListener("click", () => serial(() => viewerStep(-1)));
  $("v-next").addEventListener("click", () => serial(() => viewerStep(1)));
  $("v-close").addEventListener("click", closeViewer);
  $("v-zoom").addEventListener("click", () => { S.viewer.zoom = !S.viewer.zoom; renderViewer(); });
  $("v-info").addEventListener("click", () => { $("viewer-info").hidden = !$("viewer-info").hidden; });
  $("v-why").addEventListener("click", () => openWhy(S.viewer.list[S.viewer.k].id));
  $("refit").addEventListener("click", refit);
  $("xmp-preview").addEventListener("click", () => xmpExport(true));
  $("xmp-write").addEventListener("click", () => xmpExport(false));
  $("xmp-import").addEventListener("click", xmpImport);
  $("password-form").addEventListener("submit", changePassword);
  $("invite-create").addEventListener("click", createInvite);
  document.addEventListener("keydown", onKey);
  try { S.signup = !!(await api("GET", "/api/health")).signup; } catch (e) { S.signup = false; }
  try {
    const info = await fetch("/api/session", { credentials: "same-origin" });
    if (info.ok) { await signedIn(await info.json()); return; }
  } catch (e) { /* not signed in */ }
  showLogin();
}

document.addEventListener("DOMContentLoaded", init);
