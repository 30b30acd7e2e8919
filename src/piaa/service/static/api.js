// The page's state and its one way to the server: the JSON API (authenticated by the HttpOnly session cookie;
// every state-changing request carries the X-CSRF-Token the sign-in returned), and the person's marks
// (stars, flags, colour labels), which every screen shows and changes.
import { $, el } from "./util.js";

export const S = { csrf: null, user: null, me: null, view: null, mode: "stars", queue: [], pos: 0, mine: new Map(),
                   marks: new Map(), minRatings: 10, profileFrom: null, fitting: false, refitWanted: false, pair: null,
                   signup: false, polling: null, chain: Promise.resolve(), lib: [], libTotal: 0, libQuery: "",
                   libLoading: false, viewer: null, bursts: [], burstPos: 0, memberPos: 0, team: [], teamTotal: 0 };

// What the page does when the server says the session is gone (set by the sign-in screen).
export const hooks = { signedOut: () => {} };

// Every action that changes what is shown runs after the previous one finished: a quick double key press
// rates the photo on screen, then the next one — never the same photo twice while the next is skipped.
export function serial(fn) {
  const run = S.chain.then(fn);
  S.chain = run.catch(() => {});
  return run;
}

export async function api(method, path, body) {
  const opt = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) { opt.headers["Content-Type"] = "application/json"; opt.body = JSON.stringify(body); }
  if (S.csrf && method !== "GET") opt.headers["X-CSRF-Token"] = S.csrf;
  const r = await fetch(path, opt);
  let data = null;
  if (r.status !== 204) { try { data = await r.json(); } catch (e) { data = null; } }
  if (r.status === 401 && path !== "/api/session" && path !== "/api/me/password") { hooks.signedOut(); }
  if (!r.ok) {
    const d = data && data.detail;
    const msg = typeof d === "string" ? d : (Array.isArray(d) ? d.map((x) => x.msg).join("; ") : r.statusText);
    const err = new Error(msg); err.status = r.status; throw err;
  }
  return data;
}

// ---- marks (stars, flags, labels) shared by every view ---------------------------------------------------------
export async function reloadMarks() {
  const r = await api("GET", "/api/ratings");
  S.mine = new Map(r.ratings.map((x) => [x.image, x.rating]));
  const m = await api("GET", "/api/marks");
  S.marks = new Map(m.marks.map((x) => [x.image, { flag: x.flag, label: x.label }]));
}

export async function setStars(id, stars) {
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

export async function setMarks(id, change) {
  const cur = S.marks.get(id) || { flag: null, label: null };
  const body = { flag: "flag" in change ? change.flag : cur.flag, label: "label" in change ? change.label : cur.label };
  const stored = await api("PUT", `/api/marks/${id}`, body);
  S.marks.set(id, { flag: stored.flag, label: stored.label });
  return stored;
}

export function toggleLabel(id, label) {
  const cur = (S.marks.get(id) || {}).label;
  return setMarks(id, { label: cur === label ? null : label });
}

export function marksNode(id) {
  const m = S.marks.get(id) || {};
  const out = el("span", { class: "marks" });
  if (m.flag === "pick") out.append(el("span", { class: "flag-pick", text: "⚑ pick", title: "picked" }));
  if (m.flag === "reject") out.append(el("span", { class: "flag-reject", text: "✕ rejected", title: "rejected" }));
  if (m.label) out.append(el("span", { class: `dot ${m.label}`, title: `${m.label} label`, "aria-label": `${m.label} label` }));
  return out;
}

// The analysis progress bar under the header, polled until every photo is analysed.
export async function pollProgress() {
  clearTimeout(S.polling);
  if (!S.user) return;
  try {
    const p = await api("GET", "/api/library");
    const bar = $("progress");
    if (p.state === "ready") { bar.hidden = true; return p; }
    bar.hidden = false;
    bar.textContent = p.state === "error" ? `Photo analysis failed: ${p.message}`
      : `Analysing photos: ${p.done} of ${p.total}` + (p.failed ? ` (${p.failed} unreadable)` : "") + " …";
    if (p.state !== "error") S.polling = setTimeout(pollProgress, 1500);
    return p;
  } catch (e) { return null; /* signed out */ }
}
