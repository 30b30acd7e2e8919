// Account: password; for admins, invitations and members.
import { S, api } from "./api.js";
import { $, el, plural } from "./util.js";

export async function loadAccount() {
  const me = S.me || await api("GET", "/api/me");
  $("admin").hidden = !me.is_admin;
  if (me.is_admin) { loadInvites(); loadMembers(); }
}

async function changePassword(ev) {
  ev.preventDefault();
  try {
    const r = await api("POST", "/api/me/password", { old: $("pw-old").value, new: $("pw-new").value });
    $("pw-msg").textContent = `Password changed; ${plural(r.revoked, "other session or token")} signed out.`;
    $("pw-old").value = ""; $("pw-new").value = "";
  } catch (e) { $("pw-msg").textContent = e.message; }
}

async function createInvite() {
  try {
    const r = await api("POST", "/api/invites");
    $("invite-link").value = `${location.origin}/#invite=${encodeURIComponent(r.code)}`;
    $("invite-share").hidden = false;
    $("invite-code").textContent = `Valid until ${new Date(r.expires).toLocaleString()}, for one person. ` +
      `The code alone: ${r.code}`;
    $("invite-link").select();
    loadInvites();
  } catch (e) { $("invite-code").textContent = e.message; }
}

async function copyInvite() {
  const link = $("invite-link");
  try { await navigator.clipboard.writeText(link.value); }
  catch (e) { link.select(); document.execCommand("copy"); }        // no clipboard API (plain http): the old way
  $("invite-copy").textContent = "Copied";
  setTimeout(() => { $("invite-copy").textContent = "Copy link"; }, 2000);
}

async function loadInvites() {
  const r = await api("GET", "/api/invites");
  const ul = $("invite-list");
  ul.replaceChildren();
  for (const inv of r.invites) {
    const state = inv.used_by ? `used by ${inv.used_by}` : (new Date(inv.expires) < new Date() ? "expired" : `open until ${new Date(inv.expires).toLocaleDateString()}`);
    ul.append(el("li", {}, el("span", { text: `#${inv.id} by ${inv.created_by || "?"}: ${state} ` }),
      inv.used_by ? null : el("button", { type: "button", class: "link", text: "withdraw",
        onclick: async () => { await api("DELETE", `/api/invites/${inv.id}`); loadInvites(); } })));
  }
}

async function loadMembers() {
  const r = await api("GET", "/api/users");
  const ul = $("member-list");
  ul.replaceChildren();
  for (const u of r.users) {
    ul.append(el("li", {}, el("span", { text: `${u.username}${u.is_admin ? " (admin)" : ""} · ${plural(u.ratings, "rating")}` }),
      u.username === S.user ? null : el("button", { type: "button", class: "secondary", text: "Remove",
        "aria-label": `remove ${u.username}`, onclick: async () => {
          if (!window.confirm(`Remove ${u.username} and all their ratings?`)) return;
          await api("DELETE", `/api/users/${u.id}`); loadMembers(); } })));
  }
}

export function bindAccount() {
  $("password-form").addEventListener("submit", changePassword);
  $("invite-create").addEventListener("click", createInvite);
  $("invite-copy").addEventListener("click", copyInvite);
}
