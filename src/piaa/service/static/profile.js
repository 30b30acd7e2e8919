// Profile: what the person's profile learned and how well it predicts them; exports; XMP sidecars both ways.
import { S, api, reloadMarks } from "./api.js";
import { $, el, plural } from "./util.js";

export async function loadProfile() {
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
  // why writing is off, said on the page (not only in a tooltip)
  const why = !owner ? (me.xmp_owner_note || "") : me.xmp_write ? ""
    : "Writing is off: this server does not write into the photo folders. Whoever runs it can allow it " +
      "(piaa serve --allow-xmp-write); Preview shows what would change.";
  $("xmp-write-why").hidden = !why || !owner;
  $("xmp-write-why").textContent = owner ? why : "";
  $("xmp-write").title = why;
  $("xmp-write").setAttribute("aria-describedby", owner ? "xmp-write-why" : "xmp-owner");
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
    await reloadMarks();
  } catch (e) { $("xmp-result").textContent = e.message; }
}

export function bindProfile() {
  $("refit").addEventListener("click", refit);
  $("xmp-preview").addEventListener("click", () => xmpExport(true));
  $("xmp-write").addEventListener("click", () => xmpExport(false));
  $("xmp-import").addEventListener("click", xmpImport);
}
