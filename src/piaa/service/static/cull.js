// Cull: bursts and near-duplicates as groups with a suggested pick; keys walk groups and frames, Enter takes
// the suggestion, R rejects the rest.
import { S, api, serial, setMarks, marksNode } from "./api.js";
import { openCompare } from "./compare.js";
import { $, brokenTile, el, guardImage, imgUrl, plural, starsText } from "./util.js";

const GROUPS = 20;                    // groups per request: a large library has thousands

export async function loadBursts(more) {
  if (!more) $("cull-msg").textContent = "Looking for bursts and near-duplicates…";
  const offset = more ? S.bursts.length : 0;
  let r;
  try { r = await api("GET", `/api/bursts?offset=${offset}&limit=${GROUPS}`); }
  catch (e) { $("cull-msg").textContent = e.message; return; }
  S.bursts = more ? S.bursts.concat(r.groups) : r.groups;
  for (const g of r.groups) for (const m of g.members) {     // what the server says now wins over what was loaded
    S.marks.set(m.id, { flag: m.flag, label: m.label });
    if (m.rating != null) S.mine.set(m.id, m.rating); else S.mine.delete(m.id);
  }
  S.burstPos = Math.min(S.burstPos, Math.max(0, S.bursts.length - 1));
  if (!more) S.memberPos = 0;
  $("cull-count").textContent = `${plural(r.total, "group")} · ${plural(r.photos_in_groups, "photo")}`;
  $("cull-msg").textContent = r.total ? "" : "No bursts or near-duplicates in this library.";
  $("cull-more").hidden = S.bursts.length >= r.total;
  $("cull-more").textContent = `More groups (${S.bursts.length} of ${r.total} shown)`;
  showChecks(r.checks, r.checks_progress);
  renderBursts();
}

let checksTimer = null;

// Whether the picks already use the checks at 100 % (they run in the background after each scan); while they
// run, look again now and then and show the new suggestions when they are done.
function showChecks(word, p) {
  const line = $("cull-checks");
  const note = p && p.note ? ` (${p.note})` : "";
  if (word === "running") {
    line.textContent = `The checks at 100 % (closed eyes, soft focus, motion blur) are still running: ` +
      `${p.done} of ${plural(p.groups, "group")} judged. Until then the other groups' picks follow taste and quality.${note}`;
  } else if (word === "off") {
    line.textContent = "The checks at 100 % are off on this server: picks follow taste and quality.";
  } else {
    line.textContent = p && p.groups ? `Every group checked at 100 % (closed eyes, soft focus, motion blur).${note}` : "";
  }
  clearTimeout(checksTimer);
  if (word !== "running") return;
  checksTimer = setTimeout(async () => {
    if ($("view-cull").hidden) return;
    try {
      const s = await api("GET", "/api/library");
      if (s.checks && s.checks.state !== "running") await serial(() => loadBursts(false));
      else showChecks("running", s.checks || p);
    } catch (e) { /* the next visit asks again */ }
  }, 10000);
}

function burstPick(g) {
  const own = g.members.find((m) => (S.marks.get(m.id) || {}).flag === "pick");
  return own ? own.id : g.pick;
}

function frame(g, gi, m, mi) {
  const img = el("img", { src: imgUrl(m.id, "thumb"), alt: "", loading: "lazy" });
  const flag = (S.marks.get(m.id) || {}).flag;
  const mine = S.mine.has(m.id) ? S.mine.get(m.id) : m.rating;
  const cls = ["frame"];
  if (m.id === g.pick) cls.push("suggested");
  if (flag === "reject") cls.push("rejected");
  if (gi === S.burstPos && mi === S.memberPos) cls.push("focus");
  const reasons = m.reasons && m.reasons.length ? m.reasons : null;
  const b = el("button", { type: "button", "data-id": String(m.id), class: cls.join(" "),
    "aria-label": `${m.name}${m.id === g.pick ? " (suggested pick)" : ""}${flag === "reject" ? ", rejected" : ""}` +
      `${mine != null ? `, you gave ${mine} stars` : ""}${reasons ? ". " + reasons.join("; ") : ""}. Pick it`,
    onclick: () => serial(() => pickInBurst(gi, m.id)) }, img,
    el("span", { class: "name", text: m.name }),
    el("span", { class: "line" }, el("span", { class: "mine", text: mine != null ? `yours ${starsText(mine)}` : "no stars yet" }),
       marksNode(m.id)),
    el("span", { class: "line" }, el("span", { class: "badge", text: m.id === g.pick ? "suggested pick" : "" }),
       el("span", { text: m.quality != null ? `Q ${m.quality.toFixed(2)}` : "" })),
    reasons ? el("ul", { class: "reasons" }, ...reasons.map((r) => el("li", { text: r }))) : null);
  guardImage(img, m.id, (why) => img.replaceWith(brokenTile(why)));
  return b;
}

function renderBursts() {
  const list = $("bursts");
  list.replaceChildren();
  S.bursts.forEach((g, gi) => {
    const members = el("div", { class: "members", role: "group", "aria-label": `group ${gi + 1}` });
    g.members.forEach((m, mi) => members.append(frame(g, gi, m, mi)));
    list.append(el("li", { class: gi === S.burstPos ? "current" : "", "data-group": String(gi) },
      el("div", { class: "line" }, el("strong", { text: `Group ${gi + 1}` }),
         el("span", { class: "muted", text: ` ${plural(g.members.length, "photo")} · suggested: ${nameOf(g, g.pick)} (${g.reason})` })),
      members,
      el("div", { class: "row" },
        el("button", { type: "button", class: "secondary", text: "Take the suggestion", onclick: () => serial(() => pickInBurst(gi, g.pick)) }),
        el("button", { type: "button", class: "secondary", text: "Reject the rest", onclick: () => serial(() => rejectRest(gi)) }),
        el("button", { type: "button", class: "secondary compare-open", text: "Compare at 100 %",
                       onclick: () => compareIn(gi, gi === S.burstPos ? S.memberPos : 0) }))));
  });
  const cur = list.querySelector("li.current");
  if (cur && cur.scrollIntoView) cur.scrollIntoView({ block: "nearest" });
}

// The frame in focus beside the pick (or beside the next frame, when it is the pick).
function compareIn(gi, mi) {
  const g = S.bursts[gi];
  if (!g || g.members.length < 2) return;
  const frames = g.members.map((m) => ({ id: m.id, name: m.name,
    note: [m.id === burstPick(g) ? "the pick" : "", (S.marks.get(m.id) || {}).flag === "reject" ? "rejected" : "",
           ...(m.reasons || [])].filter(Boolean).join(" · ") }));
  const pick = Math.max(0, g.members.findIndex((m) => m.id === burstPick(g)));
  const a = mi === pick ? pick : mi;
  const b = mi === pick ? (pick + 1) % frames.length : pick;
  openCompare(frames, a, b);
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

// Keys of the Cull screen; true when handled.
export function cullKeys(ev) {
  const g = S.bursts[S.burstPos];
  if (!g) return false;
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    if (ev.key === "ArrowDown" && S.burstPos === S.bursts.length - 1 && !$("cull-more").hidden) {
      serial(async () => { await loadBursts(true); S.burstPos = Math.min(S.burstPos + 1, S.bursts.length - 1); S.memberPos = 0; renderBursts(); });
      return true;
    }
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
  if (ev.key === "c" || ev.key === "C") { compareIn(S.burstPos, S.memberPos); return true; }
  return false;
}

export function bindCull() {
  $("cull-more").addEventListener("click", () => serial(() => loadBursts(true)));
}
