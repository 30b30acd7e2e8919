// The photo view (full screen): one photo of a list (the library, the team's ranking), its marks, EXIF and
// histogram, 100 % zoom, "why this place?"; ← → walk the list and ask the list's owner for more at its end.
import { S, api, serial, setStars, setMarks, toggleLabel, marksNode } from "./api.js";
import { maybeRefit } from "./rate.js";
import { $, LABEL_KEYS, el, guardImage, imgUrl, narrow, onSwipe, starsText } from "./util.js";

// source: { list, total() -> how many the list will hold, more() -> loads the next page, closed() }
export function openViewer(k, source) {
  S.viewer = { src: source, k, zoom: false, info: null, back: document.activeElement };
  $("viewer").hidden = false;
  if (narrow()) $("viewer-info").hidden = true;       // on a phone the photo first; Info shows the panel
  $("viewer").focus();
  renderViewer();
}

export function closeViewer() {
  if (!S.viewer) return;
  const { back, src } = S.viewer;
  S.viewer = null;
  $("viewer").hidden = true;
  if (src.closed) src.closed();
  if (back && back.focus) back.focus();
}

async function renderViewer() {
  const v = S.viewer;
  if (!v) return;
  const list = v.src.list;
  const im = list[v.k];
  $("viewer-name").textContent = `${v.k + 1} / ${v.src.total()}` + (v.src.title ? ` of the ${v.src.title}` : "") + ` · ${im.name}` +
    (im.reasons && im.reasons.length ? ` · ${im.reasons.join("; ")}` : "");      // a stack's frame: why not the pick
  $("viewer-marks").replaceWith(Object.assign(marksNode(im.id), { id: "viewer-marks" }));
  const mine = S.mine.get(im.id);
  if (mine != null) $("viewer-marks").prepend(el("span", { class: "mine", text: starsText(mine) }));
  const flag = (S.marks.get(im.id) || {}).flag || "";
  for (const b of document.querySelectorAll(".viewer-rate button")) {
    const on = b.dataset.vrate != null ? mine != null && Number(b.dataset.vrate) === Math.round(mine)
      : b.dataset.vflag === flag && flag !== "";
    b.classList.toggle("current", on);
    b.setAttribute("aria-pressed", String(on));
  }
  $("v-download").href = `/api/images/${im.id}/original`;
  $("v-prev").disabled = v.k === 0;
  $("v-next").disabled = v.k >= list.length - 1 && list.length >= v.src.total();
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
    if (S.viewer !== v || v.src.list[v.k].id !== im.id) return;
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
  if (to >= v.src.list.length) {
    if (v.src.list.length >= v.src.total()) return;
    await v.src.more();
    if (to >= v.src.list.length) return;
  }
  v.k = to;
  v.zoom = false;
  await renderViewer();
}

export async function openWhy(id) {
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
        el("span", { text: `${starsText(s.rating)} · ${s.name}` + (s.weak ? " · a weak likeness" : "") })));
    }
  } catch (e) { $("why-text").textContent = e.message; }
}

// Stars, flags and labels by key for one photo, then `after()`; true when the key was one of them.
export function markKeys(ev, id, after) {
  const k = ev.key;
  let fn = null;
  if (k >= "0" && k <= "5") fn = () => setStars(id, Number(k));
  else if (k === "p" || k === "P") fn = () => setMarks(id, { flag: "pick" });
  else if (k === "x" || k === "X") fn = () => setMarks(id, { flag: "reject" });
  else if (k === "u" || k === "U") fn = () => setMarks(id, { flag: null });
  else if (LABEL_KEYS[k]) fn = () => toggleLabel(id, LABEL_KEYS[k]);
  if (!fn) return false;
  serial(async () => { await fn(); after(); if (k >= "1" && k <= "5") maybeRefit(); });
  return true;
}

const current = () => S.viewer.src.list[S.viewer.k].id;
function toggleZoom() { S.viewer.zoom = !S.viewer.zoom; renderViewer(); }
function toggleInfo() { $("viewer-info").hidden = !$("viewer-info").hidden; }

// Keys while the photo view is open (it takes every key); true when handled.
export function viewerKeys(ev) {
  const k = ev.key;
  if (k === "Escape") closeViewer();
  else if (k === "ArrowLeft") serial(() => viewerStep(-1));
  else if (k === "ArrowRight") serial(() => viewerStep(1));
  else if (k === "z" || k === "Z") toggleZoom();
  else if (k === "i" || k === "I") toggleInfo();
  else if (k === "w" || k === "W") openWhy(current());
  else return markKeys(ev, current(), () => renderViewer());
  return true;
}

// The on-screen stars and flags (a phone has no keys): the same as 0-5, P, X, U.
function markButton(b) {
  const id = current();
  const fn = b.dataset.vrate != null ? () => setStars(id, Number(b.dataset.vrate))
    : () => setMarks(id, { flag: b.dataset.vflag || null });
  serial(async () => {
    try { await fn(); } catch (e) { $("viewer-name").textContent = e.message; return; }
    renderViewer();
    if (b.dataset.vrate && b.dataset.vrate !== "0") maybeRefit();
  });
}

export function bindViewer() {
  for (const b of document.querySelectorAll(".viewer-rate button")) b.addEventListener("click", () => markButton(b));
  onSwipe($("viewer-stage"), (step) => { if (S.viewer && !S.viewer.zoom) serial(() => viewerStep(step)); });
  $("v-prev").addEventListener("click", () => serial(() => viewerStep(-1)));
  $("v-next").addEventListener("click", () => serial(() => viewerStep(1)));
  $("v-close").addEventListener("click", closeViewer);
  $("v-zoom").addEventListener("click", toggleZoom);
  $("v-info").addEventListener("click", toggleInfo);
  $("v-why").addEventListener("click", () => openWhy(current()));
}
