// The sign-in page: passkeys offered in the username field's autofill from page load
// (conditional mediation), a "Sign in with a passkey" button, and a password followed by a
// second factor.
import { api, ApiError, busy, msg, say, sayError } from "./common.js";
import * as webauthn from "./webauthn.js";

const $ = (id) => document.getElementById(id);
let autofill = null;

// Where to go once signed in: back to an app's sign-in request (`?next=`, only ever that
// page of this site), else the start page.
function signedIn() {
  const next = new URLSearchParams(window.location.search).get("next");
  const back = next && /^\/oauth2\/continue\?request=[A-Za-z0-9_-]{1,64}$/.test(next);
  window.location.assign(back ? next : "/");
}

/** A passkey sign-in from login/begin to login/finish; "conditional" runs it in autofill. */
async function passkeySignIn(mediation) {
  const begun = await api("POST", "/login/begin", {});
  const publicKey = begun.publicKey;
  let signal;
  if (mediation === "conditional") {
    autofill = new AbortController();
    signal = autofill.signal;
  }
  const credential = await webauthn.get(publicKey, { mediation, signal });
  try {
    await api("POST", "/login/finish", { credential });
  } catch (error) {
    if (error instanceof ApiError && error.code === "unknown_credential") {
      // The passkey was deleted here: let the provider stop offering it (not awaited: the
      // person hears what happened whatever the provider does).
      webauthn.signalUnknownCredential(publicKey.rpId, credential.id);
    }
    throw error;
  }
  signedIn();
}

function stopAutofill() {
  if (autofill) autofill.abort();
  autofill = null;
}

async function startAutofill() {
  if (!(await webauthn.conditionalAvailable())) return;
  try {
    await passkeySignIn("conditional");
  } catch (error) {
    if (error && error.name === "AbortError") return;
    sayError(error);
    // Offer passkeys again for the next try.
    startAutofill();
  }
}

$("passkey-button").addEventListener("click", (event) =>
  busy(event.currentTarget, async () => {
    say("");
    stopAutofill();
    try {
      await passkeySignIn(undefined);
    } catch (error) {
      sayError(error);
      startAutofill();
    }
  }));

let methods = [];
let codeMethod = null;

function showSecondFactor(available) {
  methods = available;
  stopAutofill();
  $("signin-step").hidden = true;
  $("second-factor-step").hidden = false;
  $("method-webauthn").hidden = !methods.includes("webauthn");
  $("method-totp").hidden = !methods.includes("totp");
  $("method-recovery").hidden = !methods.includes("recovery_code");
  $("second-factor-heading").focus?.();
  const first = ["webauthn", "totp", "recovery_code"].find((m) => methods.includes(m));
  if (first === "totp" || first === "recovery_code") chooseCode(first);
}

function chooseCode(method) {
  codeMethod = method;
  $("code-form").hidden = false;
  $("code-label").textContent = method === "totp" ? msg("field-totp-code") : msg("field-recovery-code");
  $("code").inputMode = method === "totp" ? "numeric" : "text";
  $("code").value = "";
  $("code").focus();
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const username = $("username").value.trim();
  const password = $("password").value;
  if (!username) {
    say(msg("error-username-needed"), "error");
    $("username").focus();
    return;
  }
  if (!password) {
    // A username alone: sign in with that account's passkey or security key.
    busy($("signin-submit"), async () => {
      say("");
      stopAutofill();
      try {
        const begun = await api("POST", "/login/begin", { username });
        const credential = await webauthn.get(begun.publicKey);
        await api("POST", "/login/finish", { credential });
        signedIn();
      } catch (error) {
        sayError(error);
        startAutofill();
      }
    });
    return;
  }
  busy($("signin-submit"), async () => {
    say("");
    try {
      const answer = await api("POST", "/login/password", { username, password });
      if (answer && answer.next === "second_factor") showSecondFactor(answer.methods || []);
      else signedIn();
    } catch (error) {
      sayError(error);
    }
  });
});

$("method-webauthn").addEventListener("click", (event) =>
  busy(event.currentTarget, async () => {
    say("");
    $("code-form").hidden = true;
    try {
      const begun = await api("POST", "/login/second-factor/begin");
      const credential = await webauthn.get(begun.publicKey);
      await api("POST", "/login/second-factor/finish", {
        credential,
        trustBrowser: $("trust-browser").checked,
      });
      signedIn();
    } catch (error) {
      sayError(error);
    }
  }));

$("method-totp").addEventListener("click", () => chooseCode("totp"));
$("method-recovery").addEventListener("click", () => chooseCode("recovery_code"));

$("code-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const code = $("code").value.trim();
  if (!code) return;
  busy($("code-submit"), async () => {
    say("");
    try {
      const path = codeMethod === "totp" ? "/login/totp" : "/login/recovery";
      await api("POST", path, { code, trustBrowser: $("trust-browser").checked });
      signedIn();
    } catch (error) {
      sayError(error);
    }
  });
});

if (!webauthn.supported()) {
  $("passkey-button").hidden = true;
  say(msg("error-not-supported"), "info");
} else {
  startAutofill();
}

// Every control has its handler now (the browser tests wait for this).
document.body.dataset.ready = "true";
