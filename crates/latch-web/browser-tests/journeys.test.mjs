// The pages as people use them, in Chromium with virtual authenticators. The journeys run in
// order against one server: later ones build on the accounts earlier ones made.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { accessibilityProblems, Keyring, launch, screenshot, Server } from "./harness.mjs";

// Apple's rule (two security keys before they count as a second factor).
const server = new Server('minSecurityKeys = 2\nmaxCredentials = 6\n');
let browser;
const violations = [];

before(async () => {
  await server.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server.stop();
});

/** A new browser profile (its own cookies) with a page and a keyring. */
async function person(options = {}) {
  const context = await browser.newContext({ baseURL: server.origin, ...options });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  return { context, page, keys: new Keyring(page), problems };
}

/** axe on the page as it is: its serious and critical findings are collected for the end. */
async function audit(page, what) {
  for (const v of await accessibilityProblems(page)) violations.push(`${what}: ${v}`);
}

async function status(page) {
  const s = page.locator("#status");
  await s.waitFor({ state: "visible" });
  return (await s.textContent()).trim();
}

async function expectStatus(page, pattern) {
  await page.waitForFunction(
    (source) => {
      const s = document.getElementById("status");
      return s && !s.hidden && new RegExp(source).test(s.textContent);
    },
    pattern.source,
  );
  return status(page);
}

async function signOut(page) {
  await page.click("#sign-out");
  await page.waitForSelector("#signin-form");
}

const ana = {};
const bo = {};

test("sign up with a passkey", async () => {
  Object.assign(ana, await person());
  const { page, keys } = ana;
  await keys.plug("phone", "passkey");
  await page.goto("/signup");
  await audit(page, "sign-up page");
  await page.fill("#username", "ana");
  await page.fill("#display-name", "Ana Lima");
  await page.click("#signup-passkey");
  await page.waitForURL("**/security");
  const row = page.locator("#keys tr");
  await row.first().waitFor();
  assert.equal(await row.count(), 1);
  assert.match(await row.first().textContent(), /Synced passkey/);
  assert.equal((await page.textContent("#who")).trim(), "Ana Lima");
  await screenshot(page, "01-signed-up-with-passkey");
  await audit(page, "security info");
});

test("sign out", async () => {
  const { page, keys } = ana;
  // Out of reach, so that the sign-in page's autofill cannot sign straight back in.
  await keys.unplug("phone");
  await signOut(page);
  assert.equal(new URL(page.url()).pathname, "/");
  await screenshot(page, "02-signed-out");
  await audit(page, "sign-in page");
});

test("sign in through autofill (conditional mediation)", async () => {
  const { page, keys } = ana;
  assert.equal(await page.getAttribute("#username", "autocomplete"), "username webauthn");
  // The page started a conditional request on load; with the passkey in reach, the virtual
  // authenticator answers it as a person picking it from the username field's suggestions.
  const finished = page.waitForResponse((r) => r.url().endsWith("/api/v1/login/finish"));
  await keys.plug("phone");
  await page.reload();
  assert.equal((await finished).status(), 200);
  await page.waitForSelector("#keys tr");
  assert.equal(new URL(page.url()).pathname, "/");
  await screenshot(page, "03-signed-in-through-autofill");
  await keys.unplug("phone");
  await signOut(page);
});

test("sign in with the passkey button", async () => {
  const { page, keys } = ana;
  // A browser without autofill for passkeys: only the button is left.
  await page.addInitScript(() => {
    if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });
  await page.goto("/");
  await keys.plug("phone");
  await page.click("#passkey-button");
  await page.waitForSelector("#keys tr");
  await screenshot(page, "04-signed-in-with-passkey-button");
});

test("no page logged a script error", () => {
  for (const p of [ana, bo]) assert.deepEqual(p.problems ?? [], []);
});

test("axe-core finds no serious or critical violation", () => {
  assert.deepEqual(violations, []);
});
