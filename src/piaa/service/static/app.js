// piaa serve — the page: sign in, Rate (stars or pairs), Library (ranked by your taste, "why"), Profile.
// Plain JS, no build step. Talks to the same JSON API as any client; authenticated by the HttpOnly session
// cookie, every state-changing request carries the X-CSRF-Token the sign-in returned.
"use strict";

const $ = (id) => document.getElementById(id);
const S = { csrf: null, user: null, view: null, mode: "stars", queue: [], pos: 0, mine: new Map(),
            minRatings: 10, profileFrom: null, fitting: false, refitWanted: false, pair: null, signup: false,
            polling: null };

async function api(method, path, body) {
  const opt = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) { opt.headers["Content-Type"] = "application/json"; opt.body = JSON.stringify(body); }
  if (S.csrf && method !== "GET") opt.headers["X-CSRF-Token"] = S.csrf;
  const r = await fetch(path, opt);
  let data = null;
  if (r.status !== 204) { try { data = await r.json(); } catch (e) { data = null; } }
  if (r.status === 401 && path !== "/api/session") { showLogin(); }
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

// ---- views ---------------------------------------------------------------------------------------------------
function show(view) {
  S.view = view;
  for (const v of ["login", "rate", "library", "profile"]) $("view-" + v).hidden = v !== view;
  for (const b of document.querySelectorAll("nav button")) {
    if (b.dataset.view === view) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  if (view === "rate") startRate();
  if (view === "library") loadLibrary();
  if (view === "profile") loadProfile();
}

function showLogin() {
  S.user = null; S.csrf = null;
  $("nav").hidden = true; $("signout").hidden = true; $("who").textContent = "";
  $("signup-button").hidden = !S.signup;
  show("login");
  $("login-user").focus();
}

async function signedIn(info) {
  S.user = info.username; S.csrf = info.csrf;
  $("who").textContent = info.username;
  $("nav").hidden = false; $("signout").hidden = false;
  const me = await api("GET", "/api/me");
  S.minRatings = me.min_ratings;
  S.comparisons = me.comparisons;
  S.profileFrom = me.profile ? basisText(me.profile) : null;
  const r = await api("GET", "/api/ratings");
  S.mine = new Map(r.ratings.map((x) => [x.image, x.rating]));
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
  try {
    await api("POST", "/api/signup", body);
    const info = await api("POST", "/api/session", body);
    $("login-pass").value = "";
    await signedIn(info);
  } catch (e) { $("login-error").textContent = e.message; }
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
  for (const b of document.querySelectorAll(".stars button")) b.classList.remove("current");
  if (!cur) {
    img.hidden = true; $("rate-name").textContent = "";
    $("rate-msg").textContent = "You have rated every photo. See the Library, or look for new photos there.";
    return;
  }
  img.hidden = false;
  img.src = imgUrl(cur.id);
  img.alt = `photo ${cur.name}`;
  $("rate-name").textContent = `${cur.name}`;
  const mine = S.mine.get(cur.id);
  if (mine != null) {
    const b = document.querySelector(`.stars button[data-rate="${Math.round(mine)}"]`);
    if (b) b.classList.add("current");
  }
  $("rate-msg").textContent = mine != null ? `You gave it ${starsText(mine)}` : "";
  const nxt = S.queue[S.pos + 1];
  if (nxt) { const pre = new Image(); pre.src = imgUrl(nxt.id); }
}

async function rate(stars) {
  const cur = S.queue[S.pos];
  if (!cur) return;
  const value = stars === 0 ? 1 : stars;          // X = reject = the lowest rating
  try {
    await api("PUT", `/api/ratings/${cur.id}`, { rating: value });
  } catch (e) { $("rate-msg").textContent = e.message; return; }
  S.mine.set(cur.id, value);
  countText();
  await move(1);
  maybeRefit();
}

async function move(step) {
  const to = S.pos + step;
  if (to < 0) return;
  if (to >= S.queue.length) await more(20);
  S.pos = Math.min(to, S.queue.length);
  renderRate();
}

function basisText(p) {
  return `${p.n_ratings} rating${p.n_ratings === 1 ? "" : "s"}` +
    (p.n_comparisons ? ` + ${p.n_comparisons} comparison${p.n_comparisons === 1 ? "" : "s"}` : "");
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
    if (e.status !== 422) $("rate-msg").textContent = e.message;
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
  $("rate-msg").textContent = `Noted: you preferred the ${side} one. Next pair:`;
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
async function loadLibrary() {
  const grid = $("grid");
  let r;
  try { r = await api("GET", "/api/ranking?limit=1000"); } catch (e) { $("library-basis").textContent = e.message; return; }
  $("library-basis").textContent = r.basis === "profile"
    ? `Sorted by your taste: your own stars where you gave them, your profile's prediction (from ${r.profile.n_ratings} ratings and ${r.profile.n_comparisons} comparisons) elsewhere.` + libraryWords(r, true)
    : r.basis === "library" ? libraryWords(r, false)
    : "Sorted by the general model until you have a profile (rate at least " + S.minRatings + " photos).";
  grid.replaceChildren();
  r.images.forEach((im, k) => {
    const b = el("button", { type: "button", "data-id": String(im.id), "aria-label":
      `${k + 1}. ${im.name}: ${im.rating != null ? "you gave " + im.rating + " stars, " : ""}predicted ${im.stars} stars. Why?`,
      onclick: () => openWhy(im.id) },
      el("img", { src: imgUrl(im.id, "thumb"), alt: "", loading: "lazy" }),
      el("span", { class: "line" }, el("span", { class: "mine", text: im.rating != null ? `yours ${starsText(im.rating)}` : "" }),
         el("span", { text: `predicted ${starsText(im.stars)}` })),
      el("span", { class: "line" }, el("span", { text: `#${k + 1}` }), el("span", { text: im.score.toFixed(2) })));
    grid.append(el("li", {}, b));
  });
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

async function rescan() {
  await api("POST", "/api/library/rescan");
  pollProgress();
  setTimeout(loadLibrary, 2000);
}

// ---- Profile -------------------------------------------------------------------------------------------------
async function loadProfile() {
  const me = await api("GET", "/api/me");
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
    facts.append(el("li", { text: `Learned from ${p.n_ratings} star ratings and ${p.n_comparisons} comparisons.` }));
    if (p.created) facts.append(el("li", { text: `Last updated ${new Date(p.created).toLocaleString()}.` }));
  }
  facts.append(el("li", { text: `You have rated ${me.ratings} of ${me.total_images} photos and compared ${me.comparisons} pairs.` }));
}

async function refit() {
  try { await api("POST", "/api/profile"); } catch (e) { $("profile-summary").textContent = e.message; return; }
  loadProfile();
}

async function xmpPreview() {
  try {
    const r = await api("POST", "/api/export/xmp", { dry_run: true });
    const c = Object.entries(r.counts).map(([k, v]) => `${v} ${k}`).join(", ");
    $("xmp-result").textContent = `Writing your predicted stars would: ${c || "change nothing"}. ` +
      "Stars a person set are never overwritten; the server's admin decides whether it may write (--allow-xmp-write).";
  } catch (e) { $("xmp-result").textContent = e.message; }
}

// ---- keyboard ------------------------------------------------------------------------------------------------
function onKey(ev) {
  if (S.view !== "rate" || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const t = ev.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA")) return;
  if (S.mode === "stars") {
    if (ev.key >= "1" && ev.key <= "5") { ev.preventDefault(); rate(Number(ev.key)); }
    else if (ev.key === "x" || ev.key === "X") { ev.preventDefault(); rate(0); }
    else if (ev.key === "ArrowLeft") { ev.preventDefault(); move(-1); }
    else if (ev.key === "ArrowRight") { ev.preventDefault(); move(1); }
  } else {
    if (ev.key === "ArrowLeft") { ev.preventDefault(); pick("left"); }
    else if (ev.key === "ArrowRight") { ev.preventDefault(); pick("right"); }
    else if (ev.key === "ArrowDown") { ev.preventDefault(); nextPair(true); }
  }
}

async function init() {
  $("login-form").addEventListener("submit", login);
  $("signup-button").addEventListener("click", signup);
  $("signout").addEventListener("click", signout);
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => show(b.dataset.view));
  for (const b of document.querySelectorAll(".stars button")) b.addEventListener("click", () => rate(Number(b.dataset.rate)));
  $("prev").addEventListener("click", () => move(-1));
  $("next").addEventListener("click", () => move(1));
  $("mode-stars").addEventListener("click", () => setMode("stars"));
  $("mode-pairs").addEventListener("click", () => setMode("pairs"));
  $("pick-left").addEventListener("click", () => pick("left"));
  $("pick-right").addEventListener("click", () => pick("right"));
  $("rescan").addEventListener("click", rescan);
  $("refit").addEventListener("click", refit);
  $("xmp-preview").addEventListener("click", xmpPreview);
  document.addEventListener("keydown", onKey);
  try { S.signup = !!(await api("GET", "/api/health")).signup; } catch (e) { S.signup = false; }
  try {
    const info = await fetch("/api/session", { credentials: "same-origin" });
    if (info.ok) { await signedIn(await info.json()); return; }
  } catch (e) { /* not signed in */ }
  showLogin();
}

document.addEventListener("DOMContentLoaded", init);
