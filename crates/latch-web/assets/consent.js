// The consent page: an app asks to know who the person is. Allowing sends the browser back
// to the app with a code; denying sends it back with access_denied.
import { api, busy, msg, say, sayError } from "./common.js";

const $ = (id) => document.getElementById(id);
const request = new URLSearchParams(window.location.search).get("request") || "";

// The language switch keeps the request this page is about.
for (const link of document.querySelectorAll(".languages a")) {
  link.href += `&request=${encodeURIComponent(request)}`;
}

async function load() {
  const shown = await api("GET", `/oauth2/requests/${encodeURIComponent(request)}`);
  $("consent-intro").textContent = msg("consent-intro", { app: shown.client.name });
  const list = $("consent-scopes");
  list.replaceChildren();
  for (const scope of shown.scope) {
    const item = document.createElement("li");
    item.textContent = msg(`consent-scope-${scope.replaceAll("_", "-")}`);
    list.append(item);
  }
}

async function answer(allow) {
  const next = await api("POST", `/oauth2/requests/${encodeURIComponent(request)}/consent`, { allow });
  say(msg("consent-returning"), "ok");
  window.location.assign(next.redirect);
}

$("consent-allow").addEventListener("click", (event) =>
  busy(event.currentTarget, () => answer(true).catch(sayError)));
$("consent-deny").addEventListener("click", (event) =>
  busy(event.currentTarget, () => answer(false).catch(sayError)));

load()
  .catch((error) => {
    sayError(error);
    $("consent-allow").disabled = true;
    $("consent-deny").disabled = true;
  })
  .finally(() => {
    document.body.dataset.ready = "true";
  });
