// The step-up page: an app asks for a stronger or more recent sign-in than this session's.
// The person proves it is them again, with a key when the account has one (a key is what
// raises how strongly they signed in), then the browser goes on with the app's request.
import { api, busy, explain, msg, say, sayError } from "./common.js";
import * as webauthn from "./webauthn.js";

const $ = (id) => document.getElementById(id);
const request = new URLSearchParams(window.location.search).get("request") || "";
let shown = null;
let code = null;

// The language switch keeps the request this page is about.
for (const link of document.querySelectorAll(".languages a")) {
  link.href += `&request=${encodeURIComponent(request)}`;
}

function goOn() {
  say(msg("consent-returning"), "ok");
  window.location.assign(shown.continue);
}

async function load() {
  shown = await api("GET", `/oauth2/requests/${encodeURIComponent(request)}`);
  const reason = shown.stepUp || "login";
  $("step-up-intro").textContent = msg(`step-up-intro-${reason.replaceAll("_", "-")}`, { app: shown.client.name });
  const begun = await api("POST", "/me/reauth/begin");
  if (begun.methods.includes("webauthn")) {
    $("step-up-key").hidden = false;
    return;
  }
  code = begun.code || null;
  $("step-up-code-row").hidden = !code;
  $("step-up-code-label").textContent = code === "totp" ? msg("field-totp-code") : msg("field-recovery-code");
  $("step-up-form").hidden = false;
}

$("step-up-key").addEventListener("click", (event) =>
  busy(event.currentTarget, async () => {
    say("");
    try {
      const begun = await api("POST", "/me/reauth/begin");
      const credential = await webauthn.get(begun.publicKey);
      await api("POST", "/me/reauth/finish", { credential });
      goOn();
    } catch (error) {
      sayError(error);
    }
  }));

$("step-up-form").addEventListener("submit", (event) => {
  event.preventDefault();
  busy($("step-up-submit"), async () => {
    say("");
    const body = { password: $("step-up-password").value };
    if (code) body.code = $("step-up-code").value.trim();
    try {
      await api("POST", "/me/reauth/finish", body);
      goOn();
    } catch (error) {
      say(explain(error) || "", "error");
    }
  });
});

load()
  .catch(sayError)
  .finally(() => {
    document.body.dataset.ready = "true";
  });
