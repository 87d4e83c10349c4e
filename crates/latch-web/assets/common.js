// What every page shares: its messages, calls to the /api/v1 API, the status line, and the
// sign-out button. No page talks to the server any other way.

const messages = JSON.parse(document.body.dataset.messages || "{}");

/** The message `id` from the page's catalogue, with `{$name}` filled in from `args`. */
export function msg(id, args = {}) {
  let text = messages[id] ?? id;
  for (const [name, value] of Object.entries(args)) {
    text = text.replaceAll(`{$${name}}`, String(value));
  }
  return text;
}

/** A refused API call: the HTTP status, the stable error code, and Retry-After (seconds). */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Calls `/api/v1{path}`; resolves to the JSON answer (null for 204), throws ApiError. */
export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, init);
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const e = (data && data.error) || {};
    const retry = Number(response.headers.get("retry-after")) || 0;
    throw new ApiError(response.status, e.code || "internal", e.message || "", retry);
  }
  return data;
}

// API codes that mean the policy refused the authenticator itself.
const REFUSED = new Set([
  "aaguid_not_allowed", "aaguid_denied", "authenticator_not_certified", "authenticator_revoked",
  "attestation_not_trusted", "attestation_type_not_allowed", "unsupported_attestation_format",
  "backup_eligible_not_allowed", "algorithm_not_allowed",
]);

/** A sentence a person can act on for any failure; null when there is nothing to say. */
export function explain(error) {
  if (error instanceof ApiError) {
    const code = error.code;
    if (code === "too_many_attempts" || code === "busy") {
      return msg("error-too-many-attempts", { seconds: Math.max(error.retryAfter, 1) });
    }
    if (code === "ceremony_expired" || code === "ceremony_not_found") return msg("error-ceremony-expired");
    if (code === "session_expired" || code === "not_signed_in" || code === "no_pending_sign_in") {
      return msg("error-session-expired");
    }
    if (code === "user_verification_required") return msg("error-user-verification-required");
    if (REFUSED.has(code)) return msg("error-authenticator-refused");
    if (code === "credential_exists") return msg("error-already-registered");
    const id = `error-${code.replaceAll("_", "-")}`;
    return id in messages ? msg(id) : msg("error-generic", { code });
  }
  switch (error && error.name) {
    case "AbortError":
      return null;
    case "NotAllowedError":
      return msg("error-cancelled");
    case "InvalidStateError":
      return msg("error-already-registered");
    case "SecurityError":
      return msg("error-security");
    case "NotSupportedError":
      return msg("error-not-supported");
    case "TypeError":
      return msg("error-network");
    default:
      return msg("error-generic", { code: (error && error.name) || "unknown" });
  }
}

/** Shows `text` in the page's status line (`kind`: info, ok or error). */
export function say(text, kind = "info") {
  const status = document.getElementById("status");
  if (!status) return;
  status.hidden = !text;
  status.textContent = text || "";
  status.className = `status ${kind}`;
  status.setAttribute("role", kind === "error" ? "alert" : "status");
}

/** Shows what went wrong with `error`, if anything is worth saying. */
export function sayError(error) {
  const text = explain(error);
  if (text) say(text, "error");
  return text;
}

/** An RFC 3339 time in the page's language. */
export function when(iso) {
  if (!iso) return msg("never");
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(document.documentElement.lang, {
    dateStyle: "medium",
    timeStyle: "short",
  }).format(date);
}

/** `<tag>` with attributes (and `text` for its text) and children. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** A short name for a browser from its User-Agent. */
export function browserName(userAgent) {
  if (!userAgent) return msg("unknown-browser");
  const known = [
    [/Edg\/(\d+)/, "Edge"], [/Firefox\/(\d+)/, "Firefox"], [/Chrome\/(\d+)/, "Chrome"],
    [/Version\/(\d+).*Safari/, "Safari"],
  ];
  for (const [pattern, name] of known) {
    const m = userAgent.match(pattern);
    if (m) return `${name} ${m[1]}`;
  }
  return userAgent.length > 48 ? `${userAgent.slice(0, 48)}…` : userAgent;
}

/** Disables `button` while `work` runs (no double submits). */
export async function busy(button, work) {
  if (button) button.disabled = true;
  try {
    return await work();
  } finally {
    if (button) button.disabled = false;
  }
}

const signOut = document.getElementById("sign-out");
if (signOut) {
  signOut.addEventListener("click", async () => {
    try {
      await api("POST", "/logout");
    } catch (error) {
      sayError(error);
      return;
    }
    window.location.assign("/");
  });
}
