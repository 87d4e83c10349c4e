// What the journeys stand on: a real `latch serve` on a fresh SQLite database, Debian's
// Chromium driven by playwright-core, CDP virtual authenticators that can be plugged in and
// out (keeping their credentials), screenshots, and axe-core.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);

export const SCREENSHOTS = process.env.LATCH_SCREENSHOTS || join(process.cwd(), "screenshots");
mkdirSync(SCREENSHOTS, { recursive: true });

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** `latch serve` on a database of its own; `start` again (other flags) keeps the database. */
export class Server {
  constructor(policy) {
    this.dir = mkdtempSync(join(tmpdir(), "latch-pages-"));
    this.policyFile = join(this.dir, "policy.toml");
    writeFileSync(this.policyFile, policy);
    this.log = "";
  }

  async start(extra = []) {
    this.port ??= await freePort();
    this.origin = `http://localhost:${this.port}`;
    const bin = process.env.LATCH_BIN;
    if (!bin) throw new Error("LATCH_BIN must name the latch binary");
    this.child = spawn(bin, [
      "serve", "--listen", `127.0.0.1:${this.port}`, "--db", `sqlite://${join(this.dir, "latch.db")}`,
      "--rp-id", "localhost", "--origin", this.origin, "--policy", this.policyFile,
      "--signup-limit", "1000000", ...extra,
    ], { stdio: ["ignore", "pipe", "pipe"] });
    const keep = (chunk) => { this.log += chunk; };
    this.child.stdout.on("data", keep);
    this.child.stderr.on("data", keep);
    for (let i = 0; i < 200; i++) {
      if (this.child.exitCode !== null) throw new Error(`latch serve exited:\n${this.log}`);
      try {
        const r = await fetch(`http://127.0.0.1:${this.port}/healthz`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`latch serve did not answer /healthz:\n${this.log}`);
  }

  async stop() {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGTERM");
    await exited;
  }
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.LATCH_CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--host-resolver-rules=MAP localhost 127.0.0.1",
    ],
  });
}

// The authenticators people bring, as CDP virtual authenticators.
const KINDS = {
  // A platform passkey that syncs (iCloud Keychain, Google Password Manager).
  passkey: {
    protocol: "ctap2", ctap2Version: "ctap2_1", transport: "internal", hasResidentKey: true,
    hasUserVerification: true, isUserVerified: true, defaultBackupEligibility: true, defaultBackupState: true,
  },
  // A USB security key with a PIN and no room for discoverable credentials.
  usb: {
    protocol: "ctap2", ctap2Version: "ctap2_1", transport: "usb", hasResidentKey: false,
    hasUserVerification: true, isUserVerified: true,
  },
  // An old U2F-only key.
  u2f: { protocol: "u2f", transport: "usb" },
  // A platform authenticator whose user says no at the prompt.
  cancels: {
    protocol: "ctap2", ctap2Version: "ctap2_1", transport: "internal", hasResidentKey: true,
    hasUserVerification: true, isUserVerified: false,
  },
};

/** A person's keys for one page: each can be plugged in or out and keeps its credentials. */
export class Keyring {
  constructor(page) {
    this.page = page;
    this.keys = new Map();
  }

  async cdp() {
    if (!this.session) {
      this.session = await this.page.context().newCDPSession(this.page);
      await this.session.send("WebAuthn.enable", { enableUI: false });
    }
    return this.session;
  }

  /** Plugs in key `name` (a new one of `kind`, or one unplugged before). */
  async plug(name, kind) {
    const cdp = await this.cdp();
    const known = this.keys.get(name);
    const options = { ...KINDS[kind || known.kind], automaticPresenceSimulation: true };
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", { options });
    for (const credential of known ? known.credentials : []) {
      await cdp.send("WebAuthn.addCredential", { authenticatorId, credential });
    }
    this.keys.set(name, { kind: kind || known.kind, id: authenticatorId, credentials: [] });
  }

  async unplug(name) {
    const cdp = await this.cdp();
    const key = this.keys.get(name);
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId: key.id });
    await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: key.id });
    this.keys.set(name, { ...key, id: null, credentials });
  }

  async credentials(name) {
    const key = this.keys.get(name);
    if (!key.id) return key.credentials;
    const cdp = await this.cdp();
    return (await cdp.send("WebAuthn.getCredentials", { authenticatorId: key.id })).credentials;
  }

  /** Only `names` plugged in. */
  async only(...names) {
    for (const [name, key] of this.keys) {
      if (key.id && !names.includes(name)) await this.unplug(name);
    }
    for (const name of names) if (!this.keys.get(name).id) await this.plug(name);
  }

  /** A copy of key `name` (its credentials) on another page: the same passkey, synced. */
  async copyTo(other, name, as = name) {
    other.keys.set(as, { kind: this.keys.get(name).kind, id: null, credentials: await this.credentials(name) });
    await other.plug(as);
  }
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/**
 * axe-core's serious and critical violations on the page as it is now. axe is evaluated
 * through CDP, which the page's Content-Security-Policy does not govern.
 */
export async function accessibilityProblems(page) {
  await page.evaluate(AXE);
  const results = await page.evaluate(async () => window.axe.run(document, { resultTypes: ["violations"] }));
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}
