// Rate: one photo at a time (stars, flags, colour labels) or two at a time ("which is better?"); the profile
// is refitted in the background once there are enough ratings.
import { S, api, serial, setStars, setMarks, toggleLabel, marksNode } from "./api.js";
import { $, LABEL_KEYS, basisText, guardImage, imgUrl, narrow, onSwipe, starsText } from "./util.js";

export function countText() {
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

export async function startRate() {
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

function judgements() { return S.mine.size + (S.comparisons || 0); }

// Refit after a rating anywhere (Rate, the photo view): a profile learns from every rating the person gives.
export async function maybeRefit() {
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

// Skip leaves the shown pair out of the next suggestions (the server never repeats a compared pair by
// itself, so only skipped ones need saying).
async function nextPair(skip) {
  let ims;
  if (skip && S.pair) { S.skipped = (S.skipped || []).concat([`${S.pair[0].id}-${S.pair[1].id}`]).slice(-50); }
  const q = S.skipped && S.skipped.length ? "?skip=" + encodeURIComponent(S.skipped.join(",")) : "";
  try { ims = (await api("GET", "/api/suggestions/pair" + q)).images; }
  catch (e) { $("rate-msg").textContent = e.message; return; }
  S.pair = ims;
  $("pair-left").src = imgUrl(ims[0].id); $("pair-left").alt = `left: ${ims[0].name}`;
  $("pair-right").src = imgUrl(ims[1].id); $("pair-right").alt = `right: ${ims[1].name}`;
  if (skip) $("rate-msg").textContent = "Skipped. Next pair:";
}

async function pick(side) {
  if (!S.pair) return;
  const [a, b] = S.pair;
  const body = side === "left" ? { better: a.id, worse: b.id } : { better: b.id, worse: a.id };
  S.pair = null;
  try { await api("POST", "/api/comparisons", body); } catch (e) { $("rate-msg").textContent = e.message; return; }
  S.comparisons = (S.comparisons || 0) + 1;
  await nextPair();
  const where = narrow() ? (side === "left" ? "top" : "bottom") : side;
  $("rate-msg").textContent = `Noted: you preferred the ${where} one (${side}). Next pair:`;
  maybeRefit();
}

// Keys of the Rate screen; true when the key was one of them.
export function rateKeys(ev) {
  const k = ev.key;
  let fn = null;
  if (S.mode === "stars") {
    if (k >= "0" && k <= "5") fn = () => rate(Number(k));
    else if (k === "p" || k === "P") fn = () => markCurrent({ flag: "pick" });
    else if (k === "x" || k === "X") fn = () => markCurrent({ flag: "reject" });
    else if (k === "u" || k === "U") fn = () => markCurrent({ flag: null });
    else if (LABEL_KEYS[k]) fn = () => markCurrent({ toggle: LABEL_KEYS[k] });
    else if (k === "ArrowLeft") fn = () => move(-1);
    else if (k === "ArrowRight") fn = () => move(1);
  } else if (k === "ArrowLeft") fn = () => pick("left");
  else if (k === "ArrowRight") fn = () => pick("right");
  else if (k === "ArrowDown") fn = () => nextPair(true);
  if (!fn) return false;
  serial(fn);
  return true;
}

export function bindRate() {
  for (const b of document.querySelectorAll(".stars button")) b.addEventListener("click", () => serial(() => rate(Number(b.dataset.rate))));
  for (const b of document.querySelectorAll(".flags button[data-flag]")) b.addEventListener("click", () => serial(() => markCurrent({ flag: b.dataset.flag || null })));
  for (const b of document.querySelectorAll(".flags button[data-label]")) b.addEventListener("click", () => serial(() => markCurrent({ toggle: b.dataset.label })));
  $("prev").addEventListener("click", () => serial(() => move(-1)));
  $("next").addEventListener("click", () => serial(() => move(1)));
  $("mode-stars").addEventListener("click", () => setMode("stars"));
  $("mode-pairs").addEventListener("click", () => setMode("pairs"));
  $("pick-left").addEventListener("click", () => serial(() => pick("left")));
  $("pick-right").addEventListener("click", () => serial(() => pick("right")));
  $("pair-skip").addEventListener("click", () => serial(() => nextPair(true)));
  onSwipe($("stars-mode"), (step) => serial(() => move(step)));
}
