// Library: the whole library ranked (by taste, quality, date or name), filtered, paged as the grid scrolls;
// a tile opens the photo view.
import { S, api, marksNode, pollProgress } from "./api.js";
import { $, PAGE, basisText, brokenTile, el, guardImage, imgUrl, plural, starsText } from "./util.js";
import { openViewer } from "./viewer.js";

// When a ranking comes from the library's taste, say so and how many people taught it.
function libraryWords(r, withProfile) {
  const t = r.library_taste;
  if (!t) return "";
  const who = `${t.people} ${t.people === 1 ? "person" : "people"} who share their ratings`;
  return withProfile
    ? ` Your profile starts from the library's taste, learned from ${who}.`
    : `Sorted by the library's taste: what ${who} liked${S.mine.size ? ", adjusted by your own stars" : ""}. Rate photos to make it yours.`;
}

function libraryQuery() {
  const q = new URLSearchParams({ order: $("f-order").value });
  if ($("f-stars").value) q.set("min_stars", $("f-stars").value);
  if ($("f-flag").value) q.set("flag", $("f-flag").value);
  if ($("f-folder").value) q.set("folder", $("f-folder").value);
  if ($("f-hide-rejects").checked) q.set("hide_rejects", "true");
  if ($("f-stack").checked) q.set("stack", "true");
  return q.toString();
}

const ranked = () => ["taste", "quality"].includes($("f-order").value);      // "#n" means something only then
const baseName = (name) => name.slice(name.lastIndexOf("/") + 1);
const dateText = (iso) => iso ? new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }) : "no date";

function tile(im, k, onopen) {
  const mine = S.mine.has(im.id) ? S.mine.get(im.id) : im.rating;
  const frames = im.stack ? im.stack.length : 1;
  const label = (ranked() ? `${k + 1}. ` : "") + `${im.name}: ${mine != null ? "you gave " + mine + " stars, " : ""}` +
    `predicted ${im.stars} stars` + (im.quality != null ? `, quality ${im.quality.toFixed(2)}` : "") +
    (frames > 1 ? `, stack of ${frames} frames` : "") + ". Open";
  const img = el("img", { src: imgUrl(im.id, "thumb"), alt: "", loading: "lazy" });
  const b = el("button", { type: "button", class: "card", "data-id": String(im.id), "aria-label": label, onclick: onopen }, img,
    el("span", { class: "line name" }, el("span", { class: "file", text: baseName(im.name), title: im.name }),
       el("span", { class: "date", text: dateText(im.taken) })),
    el("span", { class: "line" }, el("span", { class: "mine", text: mine != null ? `yours ${starsText(mine)}` : "" }),
       el("span", { text: `predicted ${starsText(im.stars)}` })),
    el("span", { class: "line" }, el("span", { class: "rank", text: ranked() ? `#${k + 1}` : "" }), marksNode(im.id),
       el("span", { class: "q", title: "technical quality", text: im.quality != null ? `Q ${im.quality.toFixed(2)}` : "" })));
  guardImage(img, im.id, (why) => img.replaceWith(brokenTile(why)));
  const li = el("li", { class: isRejected(im.id) ? "rejected" : "" }, b);
  if (frames > 1) {
    const frameList = im.stack;
    li.classList.add("stacked");
    li.append(el("button", { type: "button", class: "stack-count", "data-stack": String(im.id),
      text: `▣ ${frames}`, title: `a stack of ${frames} frames: open them, the pick first`,
      "aria-label": `open the stack of ${frames} frames of ${im.name}`,
      onclick: () => openViewer(0, { list: frameList, total: () => frameList.length, more: async () => {},
                                     closed: refreshTiles, title: `stack of ${frames}` }) }));
  }
  return li;
}

function isRejected(id) { return (S.marks.get(id) || {}).flag === "reject"; }

const source = { get list() { return S.lib; }, total: () => S.libTotal, more: () => loadLibrary(false),
                 closed: () => { if (S.view === "library") refreshTiles(); } };

// What the grid shows, in words: the order (only "by your taste" when it is), what it is based on, the count.
function describe(r) {
  const asked = $("f-order").value;          // the server ranks by taste when it has no quality model
  const order = asked === "quality" && r.order && !r.order.startsWith("technical") ? "taste" : asked;
  const words = { taste: "by your taste", quality: "by technical quality (best first)",
                  date: "by capture date (oldest first)", name: "by file name" }[order];
  $("library-title").textContent = `Your library, ${words}`;
  let basis = "";
  if (order === "taste") {
    basis = r.basis === "profile"
      ? `Your own stars where you gave them, your profile's prediction (from ${basisText(r.profile)}) elsewhere.` + libraryWords(r, true)
      : r.basis === "library" ? libraryWords(r, false)
      : "The general model's prediction until you have a profile (rate at least " + S.minRatings + " photos).";
  } else if (order === "quality") {
    basis = "Sharpness, exposure and noise as the photo-quality model sees them; your taste does not count here.";
  }
  $("library-basis").textContent = basis;
  const n = r.photos != null ? r.photos : r.total;
  const filtered = libraryQuery().replace(/(^|&)(order|stack)=[^&]*/g, "") !== "";
  $("library-count").textContent = `${n.toLocaleString()} ${n === 1 ? "photo" : "photos"}` + (filtered ? " match" : "") +
    (r.stacked && r.total !== n ? ` · ${r.total.toLocaleString()} after stacking bursts` : "");
}

function emptyState(r) {
  const empty = r.total === 0;
  $("library-empty").hidden = !empty;
  if (!empty) return;
  const what = [];
  if ($("f-stars").value) what.push(`at least ${$("f-stars").value} stars`);
  if ($("f-flag").value) what.push({ pick: "picked", reject: "rejected", none: "unflagged" }[$("f-flag").value]);
  if ($("f-folder").value) what.push(`in ${$("f-folder").value}`);
  if ($("f-hide-rejects").checked) what.push("not rejected");
  $("library-empty-text").textContent = what.length
    ? `No photo is ${what.join(", ")}. Change or clear a filter above to see more.`
    : "No photos have been analysed yet: add photos to the library folder and press “Look for new photos”.";
  $("library-clear").hidden = !what.length;
}

function fillFolders(folders) {
  const sel = $("f-folder");
  if (sel.options.length > 1 || !folders || !folders.length) return;
  for (const f of folders) sel.append(el("option", { value: f.name, text: `${f.name} (${f.photos})` }));
}

export async function loadLibrary(reset) {
  if (S.libLoading) return;
  const query = libraryQuery();
  if (reset || query !== S.libQuery) { S.lib = []; S.libQuery = query; $("grid").replaceChildren(); }
  S.libLoading = true;
  let r;
  try { r = await api("GET", `/api/ranking?${query}&offset=${S.lib.length}&limit=${PAGE}`); }
  catch (e) { $("library-basis").textContent = e.message; S.libLoading = false; return; }
  S.libLoading = false;
  if (libraryQuery() !== S.libQuery) return loadLibrary(true);     // the filters changed meanwhile
  fillFolders(r.folders);
  describe(r);
  emptyState(r);
  const start = S.lib.length;
  for (const im of r.images) {
    S.lib.push(im);
    for (const k of ["flag", "label"]) if (k in im) S.marks.set(im.id, { flag: im.flag, label: im.label });
    if (im.rating != null) S.mine.set(im.id, im.rating); else S.mine.delete(im.id);
  }
  S.libTotal = r.total;
  r.images.forEach((im, j) => {
    const k = start + j;
    $("grid").append(tile(im, k, () => openViewer(k, source)));
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

// Look for new photos, wait for the scan and the analysis, then say what was found.
async function rescan() {
  const btn = $("rescan");
  btn.disabled = true;
  $("library-msg").textContent = "Looking for new, changed and removed photos…";
  try {
    await api("POST", "/api/library/rescan");
    let p = null;
    for (let k = 0; k < 600; k++) {
      await new Promise((ok) => setTimeout(ok, k ? 1000 : 400));
      p = await api("GET", "/api/library");
      if (p.state === "ready" || p.state === "error") break;
    }
    pollProgress();
    const f = (p && p.found) || { new: 0, changed: 0, removed: 0 };
    const parts = [];
    if (f.new) parts.push(`${plural(f.new, "new photo")}`);
    if (f.changed) parts.push(`${f.changed} changed`);
    if (f.removed) parts.push(`${f.removed} removed`);
    $("library-msg").textContent = p && p.state === "error" ? `The scan failed: ${p.message}`
      : parts.length ? `Found ${parts.join(", ")}; ${plural(p.total, "photo")} in the library now.`
      : `No new, changed or removed photos; ${plural(p ? p.total : 0, "photo")} in the library.`;
  } catch (e) { $("library-msg").textContent = e.message; }
  finally { btn.disabled = false; }
  loadLibrary(true);
}

function refreshTiles() {
  for (const b of document.querySelectorAll("#grid li > button.card")) {
    const id = Number(b.dataset.id);
    b.parentElement.classList.toggle("rejected", isRejected(id));
    const old = b.querySelector(".marks");
    if (old) old.replaceWith(marksNode(id));
    const mine = b.querySelector(".mine");
    if (mine) mine.textContent = S.mine.has(id) ? `yours ${starsText(S.mine.get(id))}` : "";
  }
}

export function bindLibrary() {
  $("rescan").addEventListener("click", rescan);
  $("more").addEventListener("click", () => loadLibrary(false));
  for (const id of ["f-order", "f-stars", "f-flag", "f-folder", "f-hide-rejects", "f-stack"]) $(id).addEventListener("change", () => loadLibrary(true));
  $("library-clear").addEventListener("click", () => {
    for (const id of ["f-stars", "f-flag", "f-folder"]) $(id).value = "";
    $("f-hide-rejects").checked = false;
    loadLibrary(true);
  });
  $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); loadLibrary(true); });
  if ("IntersectionObserver" in window) {        // page through the ranking as the grid scrolls
    new IntersectionObserver((es) => { if (es.some((e) => e.isIntersecting)) moreIfInView(); }).observe($("more"));
  }
}
