// Team: the library ordered by the combined taste of the members who share their ratings, with their stars
// and how much they agree; the person chooses whether to share their own.
import { S, api } from "./api.js";
import { $, PAGE, bar, brokenTile, el, guardImage, imgUrl, plural, starsText } from "./util.js";
import { openViewer } from "./viewer.js";

const source = { get list() { return S.team; }, total: () => S.teamTotal, more: () => loadTeam(false) };

export async function loadTeam(reset) {
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
    const others = (im.ratings || []).filter((x) => x.username !== S.user)
      .map((x) => `${x.username} ${starsText(x.rating)}`).join(" · ");
    const mine = S.mine.get(im.id);
    const agree = im.agreement == null ? "not enough ratings" : `agree ${Math.round(100 * im.agreement)}%`;
    const b = el("button", { type: "button", class: "card", "data-id": String(im.id),
      "aria-label": `${k + 1}. ${im.name}: team agreement ${im.agreement == null ? "unknown, not enough ratings" : Math.round(100 * im.agreement) + " of 100"}. ` +
        `${mine != null ? `You gave ${mine} stars. ` : ""}${others}`,
      onclick: () => openViewer(k, source) }, img,
      el("span", { class: "line" }, el("span", { text: `#${k + 1}` }), el("span", { text: agree })),
      el("div", { class: "agree", "aria-hidden": "true" }, bar(im.agreement || 0)),
      el("span", { class: "line mine", text: mine != null ? `you ${starsText(mine)}` : "you: not rated" }),
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

export function bindTeam() {
  $("team-more").addEventListener("click", () => loadTeam(false));
  $("share").addEventListener("change", setSharing);
}
