// piaa serve — the page: sign in, Rate (stars, flags, labels, pairs), Library (filtered, paged, photo view),
// Cull (bursts), Team, Profile (XMP both ways), Account (password, invitations, members).
// Plain ES modules, one per screen, no build step; they talk to the same JSON API as any client (api.js).
// This module wires them: the keyboard goes to the open photo view, else to the screen on show.
import { S } from "./api.js";
import { $ } from "./util.js";
import { bindAccount } from "./account.js";
import { bindLibrary } from "./library.js";
import { bindProfile } from "./profile.js";
import { bindRate, rateKeys } from "./rate.js";
import { bindSession, resume } from "./session.js";
import { bindTeam } from "./team.js";
import { bindCompare, compareKeys } from "./compare.js";
import { bindCull, cullKeys } from "./cull.js";
import { bindViewer, viewerKeys } from "./viewer.js";
import { bindViews } from "./views.js";

function onKey(ev) {
  if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const t = ev.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
  if ($("why").open) return;                 // the dialog handles its own keys (Escape closes it)
  let done = false;
  if (S.comparing) done = compareKeys(ev);
  else if (S.viewer) done = viewerKeys(ev);
  else if (S.view === "cull") done = cullKeys(ev);
  else if (S.view === "rate") done = rateKeys(ev);
  if (done) ev.preventDefault();
}

function init() {
  bindSession(); bindViews(); bindRate(); bindLibrary(); bindViewer(); bindTeam(); bindProfile(); bindAccount(); bindCompare(); bindCull();
  document.addEventListener("keydown", onKey);
  resume();
}

init();             // a module runs after the document is parsed
