// Cull: bursts and near-duplicates as groups with a suggested pick; keys walk groups and frames, Enter takes
// the suggestion, R rejects the rest.
import { S, api, serial, setMarks, marksNode } from "./api.js";
import { $, brokenTile, el, guardImage, imgUrl, plural } from "./util.js";

export async function loadBursts() {
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

// Keys of the Cull screen; true when handled.
export function cullKeys(ev) {
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
