// The browser's WebAuthn calls, taking and giving the JSON forms the API speaks (WebAuthn
// Level 3 PublicKeyCredential*OptionsJSON and RegistrationResponseJSON /
// AuthenticationResponseJSON), with a fallback where the browser lacks the JSON methods.

const PKC = window.PublicKeyCredential;

export function supported() {
  return typeof PKC === "function" && !!navigator.credentials;
}

function fromB64url(text) {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
}

function toB64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function descriptors(list) {
  return (list || []).map((d) => ({ ...d, id: fromB64url(d.id) }));
}

function creationOptions(json) {
  if (typeof PKC.parseCreationOptionsFromJSON === "function") return PKC.parseCreationOptionsFromJSON(json);
  return {
    ...json,
    challenge: fromB64url(json.challenge),
    user: { ...json.user, id: fromB64url(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

function requestOptions(json) {
  if (typeof PKC.parseRequestOptionsFromJSON === "function") return PKC.parseRequestOptionsFromJSON(json);
  return { ...json, challenge: fromB64url(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
}

function responseJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const r = credential.response;
  const response = { clientDataJSON: toB64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toB64url(r.attestationObject);
    response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
  } else {
    response.authenticatorData = toB64url(r.authenticatorData);
    response.signature = toB64url(r.signature);
    if (r.userHandle) response.userHandle = toB64url(r.userHandle);
  }
  return {
    id: credential.id,
    rawId: toB64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
    clientExtensionResults: credential.getClientExtensionResults(),
    response,
  };
}

/**
 * Makes a credential from the server's creation options. `kind` "security-key" asks for a
 * roaming key (which may not store discoverable credentials), "passkey" for one on this device
 * or phone: WebAuthn hints, which browsers may use to pick what they offer first.
 */
export async function create(publicKey, kind) {
  const json = { ...publicKey, authenticatorSelection: { ...(publicKey.authenticatorSelection || {}) } };
  if (kind === "security-key") {
    json.hints = ["security-key"];
    json.authenticatorSelection.residentKey = "discouraged";
    json.authenticatorSelection.requireResidentKey = false;
  } else if (kind === "passkey") {
    json.hints = ["client-device", "hybrid"];
    json.authenticatorSelection.residentKey = "required";
    json.authenticatorSelection.requireResidentKey = true;
  }
  const credential = await navigator.credentials.create({ publicKey: creationOptions(json) });
  return responseJSON(credential);
}

/** Gets an assertion; `mediation` "conditional" offers passkeys in the username field's autofill. */
export async function get(publicKey, { mediation, signal } = {}) {
  const options = { publicKey: requestOptions(publicKey) };
  if (mediation) options.mediation = mediation;
  if (signal) options.signal = signal;
  const credential = await navigator.credentials.get(options);
  return responseJSON(credential);
}

export async function conditionalAvailable() {
  return supported() && typeof PKC.isConditionalMediationAvailable === "function"
    && (await PKC.isConditionalMediationAvailable());
}

// The Signals API: tell the passkey provider what the server knows, where the browser has it.
// Failures are the provider's business and never the page's.
async function signal(method, details) {
  if (!supported() || typeof PKC[method] !== "function") return false;
  try {
    await PKC[method](details);
    return true;
  } catch {
    return false;
  }
}

export function signalUnknownCredential(rpId, credentialId) {
  return signal("signalUnknownCredential", { rpId, credentialId });
}

export function signalAllAcceptedCredentials(rpId, userId, allAcceptedCredentialIds) {
  return signal("signalAllAcceptedCredentials", { rpId, userId, allAcceptedCredentialIds });
}

export function signalCurrentUserDetails(rpId, userId, name, displayName) {
  return signal("signalCurrentUserDetails", { rpId, userId, name, displayName });
}
