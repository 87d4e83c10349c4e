// The security-info page: keys (add, rename, remove), password, authenticator app, recovery
// codes, trusted browsers, sessions and recent activity. Sensitive changes ask the API first;
// when it answers reauthentication_required the person proves it is them and the change is
// made again.
import { api, ApiError, browserName, busy, el, explain, msg, say, sayError, when } from "./common.js";
import * as webauthn from "./webauthn.js";

const $ = (id) => document.getElementById(id);
let me = null;
let keys = [];

// ---- re-authentication ----------------------------------------------------------------

/** Proves the person is here: a key when the account has one, else password (+ code). */
async function reauthenticate() {
  const begun = await api("POST", "/me/reauth/begin");
  if (begun.methods.includes("webauthn")) {
    const credential = await webauthn.get(begun.publicKey);
    await api("POST", "/me/reauth/finish", { credential });
    return;
  }
  await passwordDialog(begun.code);
}

function passwordDialog(code) {
  const dialog = $("reauth-dialog");
  $("reauth-password").value = "";
  $("reauth-code").value = "";
  $("reauth-error").hidden = true;
  $("reauth-code-row").hidden = !code;
  $("reauth-code-label").textContent = code === "totp" ? msg("field-totp-code") : msg("field-recovery-code");
  return new Promise((resolve, reject) => {
    const form = $("reauth-form");
    const finish = () => {
      form.removeEventListener("submit", onSubmit);
      $("reauth-cancel").removeEventListener("click", onCancel);
      dialog.close();
    };
    const onCancel = () => {
      finish();
      reject(new DOMException("cancelled", "AbortError"));
    };
    const onSubmit = async (event) => {
      event.preventDefault();
      const body = { password: $("reauth-password").value };
      if (code) body.code = $("reauth-code").value.trim();
      try {
        await api("POST", "/me/reauth/finish", body);
        finish();
        resolve();
      } catch (error) {
        // Said in the dialog only: the page's status line is behind it.
        $("reauth-error").textContent = explain(error) || "";
        $("reauth-error").hidden = false;
      }
    };
    form.addEventListener("submit", onSubmit);
    $("reauth-cancel").addEventListener("click", onCancel);
    dialog.showModal();
    $("reauth-password").focus();
  });
}

/** Runs `change`; if the API wants a recent sign-in, re-authenticates and runs it again. */
async function withReauth(change) {
  try {
    return await change();
  } catch (error) {
    if (!(error instanceof ApiError && error.code === "reauthentication_required")) throw error;
    await reauthenticate();
    return change();
  }
}

/** Asks "really?" in a dialog; resolves to true for yes. */
function confirmed(text) {
  const dialog = $("confirm-dialog");
  $("confirm-text").textContent = text;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.showModal();
    $("confirm-no").focus();
  });
}

/** Runs a user's action: status cleared, button held, failures explained, page refreshed. */
function action(button, work, done) {
  return busy(button, async () => {
    say("");
    try {
      await work();
      if (done) say(done, "ok");
    } catch (error) {
      sayError(error);
    }
    await refresh();
  });
}

// ---- keys ---------------------------------------------------------------------------------

function kindLabel(key) {
  if (!key.backupEligible) return msg("kind-security-key");
  return key.backedUp ? msg("kind-synced-passkey") : msg("kind-synced-passkey-not-backed-up");
}

function keyRow(key) {
  const nameCell = el("td", { class: "name" }, el("span", { text: key.name }));
  const authenticator = el("td", {},
    key.authenticatorIcon ? el("img", { src: key.authenticatorIcon, alt: "", width: 20, height: 20, class: "icon" }) : null,
    el("span", { text: key.authenticatorName || msg("authenticator-unknown") }));
  const rename = el("button", { type: "button", class: "link", text: msg("rename"), "aria-label": msg("rename-named", { name: key.name }) });
  const remove = el("button", { type: "button", class: "link danger", text: msg("remove"), "aria-label": msg("remove-named", { name: key.name }) });
  const row = el("tr", { "data-id": key.id },
    nameCell,
    el("td", {}, el("span", { class: key.backupEligible ? "badge synced" : "badge bound", text: kindLabel(key) })),
    authenticator,
    el("td", { text: when(key.createdAt) }),
    el("td", { text: key.lastUsedAt ? when(key.lastUsedAt) : msg("never") }),
    el("td", { class: "row-actions" }, rename, remove));
  rename.addEventListener("click", () => startRename(nameCell, key));
  remove.addEventListener("click", async () => {
    if (!(await confirmed(msg("remove-confirm", { name: key.name })))) return;
    await action(remove, async () => {
      await withReauth(() => api("DELETE", `/me/credentials/${encodeURIComponent(key.id)}`));
    }, msg("removed", { name: key.name }));
  });
  return row;
}

function startRename(cell, key) {
  const label = msg("rename-label", { name: key.name });
  const input = el("input", { type: "text", value: key.name, maxlength: 64, "aria-label": label });
  const save = el("button", { type: "submit", text: msg("save") });
  const cancel = el("button", { type: "button", class: "secondary", text: msg("cancel") });
  const form = el("form", { class: "inline" }, input, save, cancel);
  cell.replaceChildren(form);
  input.focus();
  input.select();
  cancel.addEventListener("click", () => refresh());
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") refresh();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) return;
    action(save, () => withReauth(() =>
      api("PATCH", `/me/credentials/${encodeURIComponent(key.id)}`, { name })), msg("renamed", { name }));
  });
}

function showRule() {
  const s = me.signIn;
  const rule = $("rule");
  const needed = s.minSecurityKeys - s.keys;
  // The rule is about keys as a second factor after a password.
  if (!s.password) {
    rule.textContent = "";
    rule.className = "rule";
  } else if (s.minSecurityKeys > 1 && needed > 0) {
    rule.textContent = needed === 1 ? msg("rule-one-more") : msg("rule-more", { count: needed });
    rule.className = "rule pending";
  } else if (s.minSecurityKeys > 1) {
    rule.textContent = msg("rule-met", { count: s.minSecurityKeys });
    rule.className = "rule met";
  } else {
    rule.textContent = "";
    rule.className = "rule";
  }
}

async function addKey(button, kind) {
  await action(button, async () => {
    const begun = await withReauth(() => api("POST", "/me/credentials/begin"));
    const credential = await webauthn.create(begun.publicKey, kind);
    await api("POST", "/me/credentials/finish", { credential });
  }, msg("key-added"));
}

$("add-passkey").addEventListener("click", (e) => addKey(e.currentTarget, "passkey"));
$("add-security-key").addEventListener("click", (e) => addKey(e.currentTarget, "security-key"));

// ---- account name, password, authenticator app, recovery codes ------------------------------

$("name-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const displayName = $("display-name").value.trim();
  if (!displayName) return;
  action($("name-save"), async () => {
    await api("PATCH", "/me", { displayName });
    // Let passkey providers show the new name.
    webauthn.signalCurrentUserDetails(me.rpId, me.user.id, me.user.username, displayName);
  }, msg("name-saved"));
});

$("password-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const password = $("new-password").value;
  if (!password) return;
  const body = { password };
  if (me.signIn.password) body.currentPassword = $("current-password").value;
  action($("password-submit"), async () => {
    await withReauth(() => api("PUT", "/me/password", body));
    $("new-password").value = "";
    $("current-password").value = "";
  }, msg("password-saved"));
});

$("totp-add").addEventListener("click", (event) =>
  busy(event.currentTarget, async () => {
    say("");
    try {
      const setup = await withReauth(() => api("POST", "/me/totp/begin"));
      const svg = new TextEncoder().encode(setup.qrSvg);
      let bin = "";
      for (const b of svg) bin += String.fromCharCode(b);
      $("totp-qr").src = `data:image/svg+xml;base64,${btoa(bin)}`;
      $("totp-secret").textContent = setup.secret;
      $("totp-setup").hidden = false;
      $("totp-code").focus();
    } catch (error) {
      sayError(error);
    }
  }));

$("totp-confirm-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const code = $("totp-code").value.trim();
  if (!code) return;
  action($("totp-confirm"), async () => {
    await api("POST", "/me/totp/finish", { code });
    $("totp-setup").hidden = true;
    $("totp-code").value = "";
  }, msg("totp-added"));
});

$("totp-remove").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  if (!(await confirmed(msg("totp-remove-confirm")))) return;
  await action(button, () => withReauth(() => api("DELETE", "/me/totp")), msg("totp-removed"));
});

$("recovery-generate").addEventListener("click", (event) =>
  action(event.currentTarget, async () => {
    const answer = await withReauth(() => api("POST", "/me/recovery-codes"));
    $("recovery-codes").replaceChildren(...answer.codes.map((c) => el("li", {}, el("code", { text: c }))));
    $("recovery-new").hidden = false;
  }, msg("recovery-generated")));

// ---- trusted browsers, sessions, activity -----------------------------------------------

function showTrusted(list) {
  $("trusted").replaceChildren(...list.map((b) => {
    const stop = el("button", { type: "button", class: "link danger", text: msg("trusted-revoke") });
    stop.addEventListener("click", () => action(stop, () =>
      api("DELETE", `/me/trusted-browsers/${encodeURIComponent(b.id)}`), msg("trusted-revoked")));
    return el("tr", {},
      el("td", {}, el("span", { text: browserName(b.userAgent) }),
        b.current ? el("span", { class: "badge", text: msg("this-browser") }) : null),
      el("td", { text: when(b.createdAt) }),
      el("td", { text: when(b.expiresAt) }),
      el("td", {}, stop));
  }));
  $("trusted-empty").hidden = list.length > 0;
  $("trusted-revoke-all").hidden = list.length < 2;
}

$("trusted-revoke-all").addEventListener("click", (event) =>
  action(event.currentTarget, () => api("DELETE", "/me/trusted-browsers"), msg("trusted-revoked")));

function showSessions(list) {
  $("sessions").replaceChildren(...list.map((s) => {
    let end = null;
    if (!s.current) {
      end = el("button", { type: "button", class: "link danger", text: msg("session-end") });
      end.addEventListener("click", () => action(end, () =>
        api("DELETE", `/me/sessions/${encodeURIComponent(s.id)}`), msg("session-ended")));
    }
    return el("tr", {},
      el("td", {}, el("span", { text: `${browserName(s.userAgent)}${s.ip ? ` · ${s.ip}` : ""}` }),
        s.current ? el("span", { class: "badge", text: msg("this-browser") }) : null),
      el("td", { text: when(s.createdAt) }),
      el("td", { text: when(s.lastSeenAt) }),
      el("td", {}, end));
  }));
  $("sign-out-others").hidden = !list.some((s) => !s.current);
}

$("sign-out-others").addEventListener("click", (event) =>
  busy(event.currentTarget, async () => {
    try {
      const answer = await api("POST", "/me/sessions/sign-out-others");
      say(msg("sessions-ended", { count: answer.ended }), "ok");
    } catch (error) {
      sayError(error);
    }
    await refresh();
  }));

function eventLabel(kind) {
  const id = `event-${kind.replaceAll("_", "-")}`;
  const text = msg(id);
  return text === id ? kind : text;
}

function showActivity(list) {
  $("activity").replaceChildren(...list.slice(0, 20).map((e) => el("tr", {},
    el("td", { text: when(e.createdAt) }),
    el("td", { text: eventLabel(e.kind) }),
    el("td", { text: `${browserName(e.userAgent)}${e.ip ? ` · ${e.ip}` : ""}` }))));
}

// ---- the page -----------------------------------------------------------------------------

async function refresh() {
  let credentials, trusted, sessions, activity;
  try {
    [me, credentials, trusted, sessions, activity] = await Promise.all([
      api("GET", "/me"), api("GET", "/me/credentials"), api("GET", "/me/trusted-browsers"),
      api("GET", "/me/sessions"), api("GET", "/me/activity"),
    ]);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      window.location.assign("/");
      return;
    }
    sayError(error);
    return;
  }
  keys = credentials;
  $("keys").replaceChildren(...keys.map(keyRow));
  $("keys-empty").hidden = keys.length > 0;
  $("keys-table").hidden = keys.length === 0;
  showRule();
  const s = me.signIn;
  if (document.activeElement !== $("display-name")) $("display-name").value = me.user.displayName;
  $("who").textContent = me.user.displayName;
  $("password-status").textContent = s.password ? msg("password-set") : msg("password-not-set");
  $("current-password-row").hidden = !s.password;
  $("totp-status").textContent = s.totp ? msg("totp-on") : msg("totp-off");
  $("totp-add").hidden = s.totp;
  $("totp-remove").hidden = !s.totp;
  $("recovery-status").textContent = s.recoveryCodesLeft > 0
    ? msg("recovery-left", { count: s.recoveryCodesLeft }) : msg("recovery-none");
  // A password with nothing after it: ask for a second factor.
  $("setup-banner").hidden = !(s.password && !s.keysAreSecondFactor && !s.totp);
  showTrusted(trusted);
  showSessions(sessions);
  showActivity(activity);
  // Tell passkey providers which of this account's credentials still exist.
  webauthn.signalAllAcceptedCredentials(me.rpId, me.user.id, keys.map((k) => k.id));
}

refresh();

// Every control has its handler now (the browser tests wait for this).
document.body.dataset.ready = "true";
