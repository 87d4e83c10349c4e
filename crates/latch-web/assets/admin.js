// The administrator's page: the policy (authenticators allowed and denied by their names
// from FIDO metadata) and every account's audit log.
import { api, ApiError, el, msg, say, sayError, when } from "./common.js";

const $ = (id) => document.getElementById(id);
const AAGUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let authenticators = [];
let nextPage = null;

function fillList(select, chosen) {
  const known = new Map(authenticators.map((a) => [a.aaguid, a.name]));
  // AAGUIDs in the policy that metadata does not name are listed by AAGUID.
  for (const id of chosen) if (!known.has(id)) known.set(id, id);
  select.replaceChildren(...[...known].map(([aaguid, name]) =>
    el("option", { value: aaguid, selected: chosen.includes(aaguid), text: name === aaguid ? name : `${name} (${aaguid})` })));
}

function chosen(select) {
  return [...select.selectedOptions].map((o) => o.value);
}

function showPolicy(view) {
  const p = view.policy;
  for (const key of ["passwordlessUv", "secondFactorUv", "attestation", "minSecurityKeys", "maxCredentials"]) {
    $(key).value = p[key];
  }
  $("certifiedOnly").checked = p.certifiedOnly;
  $("syncedPasskeys").checked = p.syncedPasskeys;
  $("allow-any").checked = p.aaguidAllow === null || p.aaguidAllow === undefined;
  fillList($("aaguidAllow"), p.aaguidAllow || []);
  fillList($("aaguidDeny"), p.aaguidDeny || []);
  $("aaguidAllow").disabled = $("allow-any").checked;
  const args = { source: view.source, by: view.updatedBy || "—", at: view.updatedAt ? when(view.updatedAt) : "—" };
  $("policy-source").textContent = msg("policy-source", args);
}

$("allow-any").addEventListener("change", () => {
  $("aaguidAllow").disabled = $("allow-any").checked;
});

$("policy-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const extra = $("aaguid-extra").value.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  const wrong = extra.find((a) => !AAGUID.test(a));
  if (wrong) {
    say(msg("error-aaguid-format", { aaguid: wrong }), "error");
    return;
  }
  const policy = {
    passwordlessUv: $("passwordlessUv").value,
    secondFactorUv: $("secondFactorUv").value,
    attestation: $("attestation").value,
    certifiedOnly: $("certifiedOnly").checked,
    syncedPasskeys: $("syncedPasskeys").checked,
    minSecurityKeys: Number($("minSecurityKeys").value),
    maxCredentials: Number($("maxCredentials").value),
    aaguidAllow: $("allow-any").checked ? null : chosen($("aaguidAllow")),
    aaguidDeny: [...new Set([...chosen($("aaguidDeny")), ...extra])],
  };
  $("policy-save").disabled = true;
  try {
    showPolicy(await api("PUT", "/admin/policy", policy));
    $("aaguid-extra").value = "";
    say(msg("policy-saved"), "ok");
  } catch (error) {
    sayError(error);
  } finally {
    $("policy-save").disabled = false;
  }
});

async function loadAudit(more) {
  const query = more && nextPage ? `?before=${nextPage}` : "";
  const page = await api("GET", `/admin/audit${query}`);
  const rows = page.events.map((e) => el("tr", {},
    el("td", { text: when(e.createdAt) }),
    el("td", { text: (e.user && e.user.username) || "—" }),
    el("td", { text: e.kind }),
    el("td", { text: e.ip || "—" })));
  if (more) $("audit").append(...rows);
  else $("audit").replaceChildren(...rows);
  nextPage = page.next;
  $("audit-more").hidden = !nextPage;
}

$("audit-more").addEventListener("click", () => loadAudit(true).catch(sayError));

async function start() {
  try {
    const [view, list] = await Promise.all([api("GET", "/admin/policy"), api("GET", "/admin/authenticators")]);
    authenticators = list.authenticators;
    showPolicy(view);
    await loadAudit(false);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) window.location.assign("/");
    else sayError(error);
  }
}

start();

// Every control has its handler now (the browser tests wait for this).
document.body.dataset.ready = "true";
