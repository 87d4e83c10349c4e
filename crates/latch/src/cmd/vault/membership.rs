//! Who is in the vault: creating it, joining by pairing, approving a new device, joining by
//! recovery, listing and revoking devices, and (re-)registering the escrow.

use std::thread::sleep;
use std::time::{Duration, Instant};

use latch_vault::epoch::{self, EpochKey};
use latch_vault::escrow::{self, Params};
use latch_vault::ledger::{Escrow, Ledger, Op};
use latch_vault::pairing::{check_joined, requested_device, Joiner, PairingCode, Sponsor};
use latch_vault::recovery::RecoveryKey;
use latch_vault::{DeviceId, VaultId};
use rand_core::{OsRng, RngCore};
use serde_json::json;

use super::api::now;
use super::guardians::Guardians;
use super::replica::{b64, unb64, Session};

const POLL: Duration = Duration::from_millis(200);

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The whole ledger from the store, verified from its first entry.
fn fetch_ledger(s: &mut Session) -> Result<(Ledger, Vec<Vec<u8>>), String> {
    let answer = s.api.get("/vault/ledger?from=0").map_err(err)?;
    let entries: Vec<Vec<u8>> = answer["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| unb64("ledger entry", e.as_str().unwrap_or_default()))
        .collect::<Result<_, _>>()?;
    let ledger =
        Ledger::replay(&entries).map_err(|e| format!("the store's ledger is refused: {e}"))?;
    Ok((ledger, entries))
}

/// Registers a fresh escrow of the recovery key with the vault's guardians (new version, new
/// OPRF keys, counts at zero), signed by `owner`: the recovery key the guardians hold now.
pub fn register_escrow(
    s: &mut Session,
    passcode: &[u8],
    owner: &RecoveryKey,
) -> Result<Params, String> {
    let r = s.local.vault.as_ref().ok_or("no vault")?;
    let escrow_id: [u8; 16] = unb64("escrow id", &r.escrow_id)?
        .try_into()
        .map_err(|_| "escrow id is not 16 bytes")?;
    let guardians = Guardians::new(&r.guardians);
    let params = Params::new(
        r.threshold,
        r.guardians.len(),
        guesses_per_guardian(r.threshold, r.guardians.len()),
    )
    .map_err(err)?;
    let key = s.recovery.as_ref().ok_or("no recovery key")?;
    let stages = escrow::register(&params, key, passcode, &mut OsRng).map_err(err)?;
    guardians
        .register(&escrow_id, &stages, &owner.signing_key().map_err(err)?)
        .map_err(err)?;
    // The guardians now hold the current recovery key, owned by it.
    s.replica()?.escrow_owner = None;
    s.save()?;
    Ok(params)
}

/// As many guesses per guardian as keep ⌊n·g/t⌋ at or under the limit.
fn guesses_per_guardian(t: usize, n: usize) -> u32 {
    ((escrow::GUESS_LIMIT * t) / n.max(1)).clamp(1, escrow::MAX_GUESSES_PER_GUARDIAN as usize)
        as u32
}

pub fn warn_single(n: usize) {
    if n == 1 {
        eprintln!(
            "latch vault: WARNING: single-guardian development mode. That guardian's operator \
             holds every share and can brute-force the passcode offline; run three or more \
             guardians under different operators to limit guesses to 10."
        );
    }
}

pub fn init(
    s: &mut Session,
    guardians: Vec<String>,
    threshold: Option<usize>,
    passcode: &[u8],
) -> Result<(), String> {
    let n = guardians.len();
    let t = threshold.unwrap_or(n / 2 + 1);
    Params::new(t, n, guesses_per_guardian(t, n)).map_err(err)?;
    let recovery = RecoveryKey::generate(&mut OsRng);
    let vault = VaultId::random(&mut OsRng);
    let mut escrow_id = [0u8; 16];
    OsRng.fill_bytes(&mut escrow_id);
    let escrow = Escrow::new(escrow_id, guardians, t).map_err(err)?;
    let (ledger, genesis) = Ledger::create(
        vault,
        &s.me,
        recovery.signing_key().map_err(err)?.public(),
        escrow,
        now() as u64,
    )
    .map_err(err)?;
    let key = EpochKey::generate(0, &mut OsRng);
    let share =
        epoch::share(vault, &key, &recovery, &s.me.public(), &s.me, &mut OsRng).map_err(err)?;
    let wrap = recovery.wrap(vault, &key, &mut OsRng).map_err(err)?;
    let body = json!({
        "genesis": b64(genesis.bytes()),
        "share": b64(&share),
        "wrap": b64(&wrap),
    });
    s.api
        .call("POST", "/vault", Some(&body), Some(&s.me))
        .map_err(err)?;
    s.adopt(ledger, vec![genesis.bytes().to_vec()])?;
    s.keys.insert(key);
    s.recovery = Some(recovery);
    s.save()?;
    warn_single(n);
    let owner = RecoveryKey::from_bytes(s.recovery.as_ref().ok_or("no recovery key")?.bytes())
        .map_err(err)?;
    let params = register_escrow(s, passcode, &owner)
        .map_err(|e| format!("the vault was created, but the escrow failed ({e}); run `latch vault escrow` to try again"))?;
    println!(
        "created vault {vault}; this device is {}; escrow with {} guardian(s), {} needed, at most {} passcode guesses",
        s.me.id(),
        params.guardians(),
        params.threshold(),
        params.total_guesses()
    );
    Ok(())
}

fn until<T>(
    deadline: Instant,
    what: &str,
    mut f: impl FnMut() -> Result<Option<T>, String>,
) -> Result<T, String> {
    loop {
        if let Some(v) = f()? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        sleep(POLL);
    }
}

pub fn join(s: &mut Session, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let (joiner, code, request) = Joiner::start(&s.me.public(), &mut OsRng).map_err(err)?;
    let answer = s
        .api
        .call(
            "POST",
            "/vault/pairings",
            Some(&json!({ "message": b64(&request) })),
            None,
        )
        .map_err(err)?;
    let id = answer["id"]
        .as_str()
        .ok_or("the server sent no pairing id")?
        .to_owned();
    println!("pairing code: {}", code.display());
    println!(
        "on a device already in the vault, run: latch vault approve {}",
        code.display()
    );
    let response = until(deadline, "a device to approve", || {
        let p = s.api.get(&format!("/vault/pairings/{id}")).map_err(err)?;
        p["response"]
            .as_str()
            .map(|r| unb64("response", r))
            .transpose()
    })?;
    let (sponsor, confirmation) = joiner.confirm(&response).map_err(err)?;
    s.api
        .call(
            "PUT",
            &format!("/vault/pairings/{id}/confirmation"),
            Some(&json!({ "message": b64(&confirmation) })),
            None,
        )
        .map_err(err)?;
    let me = s.me.id();
    let (ledger, entries) = until(deadline, "the sponsor to add this device", || {
        let (ledger, entries) = fetch_ledger(s)?;
        Ok(check_joined(&ledger, me, sponsor.id())
            .is_ok()
            .then_some((ledger, entries)))
    })?;
    s.adopt(ledger, entries)?;
    s.replica()?.sponsor = Some(sponsor.id().to_string());
    let epoch = s.ledger()?.epoch();
    until(deadline, "the epoch key", || {
        s.pull_keys()?;
        Ok(s.keys.get(epoch).is_ok().then_some(()))
    })?;
    let _ = s
        .api
        .call("DELETE", &format!("/vault/pairings/{id}"), None, None);
    s.pull_items()?;
    s.save()?;
    println!(
        "joined vault {} as device {me}, approved by device {}",
        s.vault_id()?,
        sponsor.id()
    );
    Ok(())
}

pub fn approve(s: &mut Session, code: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let code = PairingCode::parse(code).map_err(err)?;
    s.pull()?;
    let pending = s.api.get("/vault/pairings").map_err(err)?;
    let request = pending["pairings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["response"].is_null())
        .cloned()
        .ok_or("no device is waiting to pair; run `latch vault join` on it first")?;
    let id = request["id"]
        .as_str()
        .ok_or("a pairing has no id")?
        .to_owned();
    let request = unb64("request", request["request"].as_str().unwrap_or_default())?;
    let (sponsor, response) = Sponsor::respond(&code, &request, &s.me, &mut OsRng).map_err(err)?;
    s.api
        .call(
            "PUT",
            &format!("/vault/pairings/{id}/response"),
            Some(&json!({ "message": b64(&response) })),
            Some(&s.me),
        )
        .map_err(err)?;
    let confirmation = until(deadline, "the new device to confirm the code", || {
        let p = s.api.get(&format!("/vault/pairings/{id}")).map_err(err)?;
        p["confirmation"]
            .as_str()
            .map(|c| unb64("confirmation", c))
            .transpose()
    })?;
    let device = sponsor.finish(&confirmation).map_err(|e| {
        format!("{e}: the code typed here is not the one the new device shows (or a message was altered); nothing was added")
    })?;
    debug_assert_eq!(device, requested_device(&request).map_err(err)?);
    let ledger = s.ledger()?;
    let entry = ledger
        .propose(
            Op::Add {
                device,
                via: latch_vault::ledger::Via::Sponsor,
            },
            &s.me,
            now() as u64,
        )
        .map_err(err)?;
    // The new device gets every epoch key this one has, so it can read the whole vault.
    let vault = ledger.vault();
    let recovery = s.recovery.as_ref().ok_or("no recovery key")?;
    let mut shares = Vec::new();
    for e in s.keys.epochs() {
        let key = s.keys.get(e).map_err(err)?;
        shares.push(epoch::share(vault, key, recovery, &device, &s.me, &mut OsRng).map_err(err)?);
    }
    s.append(entry, shares, Vec::new())?;
    s.save()?;
    println!("approved device {}", device.id());
    Ok(())
}

pub fn devices(s: &mut Session) -> Result<(), String> {
    for alert in s.pull()? {
        println!("{alert}");
    }
    s.save()?;
    let me = s.me.id();
    let ledger = s.ledger()?;
    for (id, m) in ledger.members() {
        let via = match m.via {
            latch_vault::ledger::Via::Create => "created the vault",
            latch_vault::ledger::Via::Sponsor => "paired",
            latch_vault::ledger::Via::Recovery => "recovery",
        };
        let this = if *id == me { "  (this device)" } else { "" };
        println!(
            "{id}  joined {} ({via}, ledger entry {}){this}",
            m.time, m.seq
        );
    }
    Ok(())
}

/// Removes a device: a new epoch key, shared with the others only, under a new recovery key,
/// which the guardians then escrow in place of the old one.
pub fn revoke(s: &mut Session, device: &str, passcode: &[u8]) -> Result<(), String> {
    let target = DeviceId::parse(device).map_err(err)?;
    s.pull()?;
    let old = RecoveryKey::from_bytes(s.recovery.as_ref().ok_or("no recovery key")?.bytes())
        .map_err(err)?;
    let recovery = RecoveryKey::generate(&mut OsRng);
    let ledger = s.ledger()?;
    let op = Op::Remove {
        device: target,
        recovery: recovery.signing_key().map_err(err)?.public(),
    };
    let entry = ledger.propose(op, &s.me, now() as u64).map_err(err)?;
    let vault = ledger.vault();
    let key = EpochKey::generate(ledger.epoch() + 1, &mut OsRng);
    // Every epoch's key to every remaining device, from this one: a device whose shares came
    // from the removed one (its sponsor, say) keeps reading the older items.
    let mut shares = Vec::new();
    for (id, m) in ledger.members() {
        if *id == target {
            continue;
        }
        shares
            .push(epoch::share(vault, &key, &recovery, &m.public, &s.me, &mut OsRng).map_err(err)?);
        for e in s.keys.epochs() {
            let old_key = s.keys.get(e).map_err(err)?;
            shares.push(
                epoch::share(vault, old_key, &recovery, &m.public, &s.me, &mut OsRng)
                    .map_err(err)?,
            );
        }
    }
    // Every epoch's key is wrapped again under the new recovery key, so a recovery can still
    // read what was written before.
    let mut wraps = vec![recovery.wrap(vault, &key, &mut OsRng).map_err(err)?];
    for e in s.keys.epochs() {
        wraps.push(
            recovery
                .wrap(vault, s.keys.get(e).map_err(err)?, &mut OsRng)
                .map_err(err)?,
        );
    }
    // Until the new key is escrowed, the guardians' registration belongs to the old one: keep
    // it, so that `latch vault escrow` can still replace that registration after a failure.
    s.replica()?.escrow_owner = Some(b64(old.bytes()));
    s.save()?;
    s.append(entry, shares, wraps)?;
    s.keys.insert(key);
    s.recovery = Some(recovery);
    s.save()?;
    register_escrow(s, passcode, &old).map_err(|e| {
        format!("device {target} was removed, but the new recovery key is not escrowed yet ({e}); run `latch vault escrow`")
    })?;
    println!(
        "removed device {target}; items written from now on use epoch {} (it has no key for it)",
        s.ledger()?.epoch()
    );
    Ok(())
}

/// Joins with no other device: the passcode recovers the recovery key from the guardians,
/// which opens the store's wrap of the epoch keys; the device adds itself with an entry the
/// recovery key signs (every other device will say so), then escrows afresh.
pub fn recover(s: &mut Session, passcode: &[u8], pinned: &[String]) -> Result<(), String> {
    // The escrow is the one the ledger's signed genesis names; a device that pins its
    // guardians (`--guardian`) refuses a ledger that names others.
    let (ledger, entries) = fetch_ledger(s)?;
    let escrow = ledger.escrow().clone();
    if !pinned.is_empty() {
        let (mut a, mut b) = (pinned.to_vec(), escrow.guardians.clone());
        a.sort();
        b.sort();
        if a != b {
            return Err(format!(
                "the vault's ledger names the guardians {:?}, not the ones given",
                escrow.guardians
            ));
        }
    }
    let escrow_id = escrow.id;
    let urls = escrow.guardians.clone();
    warn_single(urls.len());
    let recovery = Guardians::new(&urls)
        .recover(&escrow_id, passcode, &mut OsRng)
        .map_err(|e| match e.code() {
            // A guardian ran out between its status and this guess.
            Some("no_guesses") => "no guesses are left: the escrow record is destroyed".to_owned(),
            _ => e.to_string(),
        })?;
    if ledger.recovery_public() != recovery.signing_key().map_err(err)?.public() {
        return Err(
            "the recovered key is not this vault's recovery key (the escrow is out of date)".into(),
        );
    }
    let entry = ledger
        .propose_recovery_join(
            s.me.public(),
            &recovery.signing_key().map_err(err)?,
            now() as u64,
        )
        .map_err(err)?;
    let vault = ledger.vault();
    let mut keys = Vec::new();
    for epoch in 0..=ledger.epoch() {
        match s.api.get(&format!("/vault/wraps/{epoch}")) {
            Ok(w) => {
                let wrap = unb64("wrap", w["wrap"].as_str().unwrap_or_default())?;
                match recovery.unwrap(vault, &wrap) {
                    Ok(key) => keys.push(key),
                    Err(e) => eprintln!(
                        "latch vault: the recovery wrap of epoch {epoch} does not open ({e}); its items stay unreadable"
                    ),
                }
            }
            // An epoch no device wrapped (none should be missing; the items of one are lost).
            Err(e) if e.code() == Some("wrap_not_found") => {
                eprintln!("latch vault: the store has no recovery wrap of epoch {epoch}");
            }
            Err(e) => return Err(err(e)),
        }
    }
    let mut shares = Vec::new();
    for key in keys.iter().filter(|k| k.epoch() == ledger.epoch()) {
        shares.push(
            epoch::share(vault, key, &recovery, &s.me.public(), &s.me, &mut OsRng).map_err(err)?,
        );
    }
    if shares.is_empty() {
        return Err(format!(
            "the store has no recovery wrap of epoch {}",
            ledger.epoch()
        ));
    }
    s.adopt(ledger, entries)?;
    s.append(entry, shares, Vec::new())?;
    for key in keys {
        s.keys.insert(key);
    }
    s.recovery = Some(RecoveryKey::from_bytes(recovery.bytes()).map_err(err)?);
    s.save()?;
    s.pull_items()?;
    s.save()?;
    register_escrow(s, passcode, &recovery).map_err(|e| {
        format!("recovered, but the fresh escrow failed ({e}); run `latch vault escrow`")
    })?;
    println!("recovered vault {vault} as device {}; the other devices will show that it joined by recovery", s.me.id());
    Ok(())
}
