// The sign-up page: an account with a passkey, or with a password (the security-info page
// then asks for a second factor).
import { api, busy, msg, say, sayError } from "./common.js";
import * as webauthn from "./webauthn.js";

const $ = (id) => document.getElementById(id);

function names() {
  const username = $("username").value.trim();
  const displayName = $("display-name").value.trim();
  if (!username) {
    say(msg("error-username-needed"), "error");
    $("username").focus();
    return null;
  }
  return displayName ? { username, displayName } : { username };
}

$("signup-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = names();
  if (!body) return;
  busy($("signup-passkey"), async () => {
    say("");
    try {
      const begun = await api("POST", "/signup/begin", body);
      const credential = await webauthn.create(begun.publicKey, "passkey");
      await api("POST", "/signup/finish", { credential });
      window.location.assign("/security");
    } catch (error) {
      sayError(error);
    }
  });
});

$("signup-password").addEventListener("click", (event) => {
  const body = names();
  if (!body) return;
  const password = $("new-password").value;
  if (!password) {
    say(msg("error-password-needed"), "error");
    $("new-password").focus();
    return;
  }
  busy(event.currentTarget, async () => {
    say("");
    try {
      await api("POST", "/signup/password", { ...body, password });
      window.location.assign("/security");
    } catch (error) {
      sayError(error);
    }
  });
});

if (!webauthn.supported()) {
  $("signup-passkey").disabled = true;
  say(msg("error-not-supported"), "info");
}

// Every control has its handler now (the browser tests wait for this).
document.body.dataset.ready = "true";
