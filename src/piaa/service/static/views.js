// The screens and the navigation between them: one visible at a time, each loads its data when shown.
import { S } from "./api.js";
import { $ } from "./util.js";
import { startRate } from "./rate.js";
import { loadLibrary } from "./library.js";
import { loadBursts } from "./cull.js";
import { loadTeam } from "./team.js";
import { loadProfile } from "./profile.js";
import { loadAccount } from "./account.js";

const VIEWS = { login: null, rate: startRate, library: () => loadLibrary(true), cull: () => loadBursts(false),
                team: () => loadTeam(true), profile: loadProfile, account: loadAccount };

export function show(view) {
  S.view = view;
  for (const v of Object.keys(VIEWS)) $("view-" + v).hidden = v !== view;
  for (const b of document.querySelectorAll("nav button")) {
    if (b.dataset.view === view) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  if (VIEWS[view]) VIEWS[view]();
}

export function bindViews() {
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => show(b.dataset.view));
}
