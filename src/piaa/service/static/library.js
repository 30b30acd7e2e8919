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

const source = { get list() { return S.lib; }, total: () => S.libTotal, more: () => loadLibrary(false),
                 closed: () => { if (S.view === "library") refreshTiles(); } };

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
    $("grid").append(el("li", {}, tile(im, k, () => openViewer(k, source))));
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

function refreshTiles() {
  for (const b of document.querySelectorAll("#grid li > button")) {
    const id = Number(b.dataset.id);
    const old = b.querySelector(".marks");
    if (old) old.replaceWith(marksNode(id));
    const mine = b.querySelector(".mine");
    if (mine) mine.textContent = S.mine.has(id) ? `yours ${starsText(S.mine.get(id))}` : "";
  }
}

export function bindLibrary() {
  $("rescan").addEventListener("click", rescan);
  $("more").addEventListener("click", () => loadLibrary(false));
  for (const id of ["f-order", "f-stars", "f-flag", "f-folder"]) $(id).addEventListener("change", () => loadLibrary(true));
  $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); loadLibrary(true); });
  if ("IntersectionObserver" in window) {        // page through the ranking as the grid scrolls
    new IntersectionObserver((es) => { if (es.some((e) => e.isIntersecting)) moreIfInView(); }).observe($("more"));
  }
}
