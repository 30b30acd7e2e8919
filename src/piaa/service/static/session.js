// Signing in and out: the sign-in page (password, sign-up, invitation code) and what a fresh session loads.
import { S, api, hooks, pollProgress, reloadMarks } from "./api.js";
import { $, basisText } from "./util.js";
import { closeViewer } from "./viewer.js";
import { show } from "./views.js";

export function showLogin() {
  S.user = null; S.csrf = null;
  $("nav").hidden = true; $("signout").hidden = true; $("who").textContent = "";
  $("signup-button").hidden = !S.signup && $("invite-label").hidden;
  closeViewer();
  show("login");
  $("login-user").focus();
}

export async function signedIn(info) {
  S.user = info.username; S.csrf = info.csrf;
  Object.assign(S, { queue: [], pos: 0, pair: null, skipped: [], lib: [], libQuery: "", bursts: [], burstPos: 0,
                     team: [], profileFrom: null });     // nothing of a previous person on this browser
  $("who").textContent = info.username;
  $("nav").hidden = false; $("signout").hidden = false;
  const me = await api("GET", "/api/me");
  S.me = me;
  S.minRatings = me.min_ratings;
  S.comparisons = me.comparisons;
  S.profileFrom = me.profile ? basisText(me.profile) : null;
  await reloadMarks();
  pollProgress();
  show("rate");
}

async function login(ev) {
  ev.preventDefault();
  $("login-error").textContent = "";
  const body = { username: $("login-user").value.trim(), password: $("login-pass").value };
  try {
    const info = await api("POST", "/api/session", body);
    $("login-pass").value = "";
    await signedIn(info);
  } catch (e) { $("login-error").textContent = e.message; }
}

async function signup() {
  $("login-error").textContent = "";
  const body = { username: $("login-user").value.trim(), password: $("login-pass").value };
  const invite = $("login-invite").value.trim();
  if (invite) body.invite = invite;
  try {
    await api("POST", "/api/signup", body);
    const info = await api("POST", "/api/session", { username: body.username, password: body.password });
    $("login-pass").value = ""; $("login-invite").value = "";
    await signedIn(info);
  } catch (e) { $("login-error").textContent = e.message; }
}

function showInvite() {
  $("invite-label").hidden = false; $("signup-button").hidden = false; $("invite-button").hidden = true;
  $("login-invite").focus();
}

async function signout() {
  try { await api("DELETE", "/api/session"); } catch (e) { /* already gone */ }
  showLogin();
}

export function bindSession() {
  hooks.signedOut = showLogin;
  $("login-form").addEventListener("submit", login);
  $("signup-button").addEventListener("click", signup);
  $("invite-button").addEventListener("click", showInvite);
  $("signout").addEventListener("click", signout);
  $("signout-account").addEventListener("click", signout);
}

// An invitation link (/#invite=CODE) opens the sign-up with the code filled in.
function invitedBy() {
  const m = /^#invite=([^&]+)$/.exec(location.hash);
  if (!m) return false;
  $("login-invite").value = decodeURIComponent(m[1]);
  history.replaceState(null, "", location.pathname);
  showInvite();
  $("login-user").focus();
  return true;
}

// A session cookie from an earlier visit signs in at once; else the sign-in page.
export async function resume() {
  try { S.signup = !!(await api("GET", "/api/health")).signup; } catch (e) { S.signup = false; }
  try {
    const info = await fetch("/api/session", { credentials: "same-origin" });
    if (info.ok && !location.hash.startsWith("#invite=")) { await signedIn(await info.json()); return; }
  } catch (e) { /* not signed in */ }
  showLogin();
  invitedBy();
}
