//! A device's session with its vault: its keys, its verified copy of the ledger, epoch keys and
//! items, kept in step with the store. Everything the store sends is checked before it is
//! kept: ledger entries against the chain this device has seen (a rollback or fork is
//! refused), key shares against the ledger, items against their headers and epoch keys.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latch_vault::content::Content;
use latch_vault::epoch::{open_share, EpochKey, Keyring};
use latch_vault::identity::DeviceSecret;
use latch_vault::item::{item_header, open_item, seal_item};
use latch_vault::ledger::{Entry, Ledger, Via};
use latch_vault::recovery::RecoveryKey;
use latch_vault::{DeviceId, ItemId, VaultError, VaultId};
use rand_core::OsRng;
use serde_json::{json, Value};

use super::api::{Api, ApiCallError};
use super::local::{self, Local, Replica, Stored};

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(what: &str, text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| format!("{what} is not base64url"))
}

fn field<'v>(v: &'v Value, name: &str) -> Result<&'v str, String> {
    v[name]
        .as_str()
        .ok_or_else(|| format!("the server's answer has no {name}"))
}

pub struct Session {
    pub dir: PathBuf,
    pub local: Local,
    pub api: Api,
    pub me: DeviceSecret,
    pub ledger: Option<Ledger>,
    pub keys: Keyring,
    pub recovery: Option<RecoveryKey>,
}

impl Session {
    /// A device folder that has no vault yet: new keys, or the ones it made before.
    pub fn new_device(dir: &Path, server: &str, username: &str) -> Result<Session, String> {
        if let Some(existing) = local::load(dir)? {
            if existing.vault.is_some() {
                return Err(format!(
                    "{} already holds a vault; use another --dir",
                    dir.display()
                ));
            }
        }
        let me = DeviceSecret::generate(&mut OsRng).map_err(|e| e.to_string())?;
        let local = Local {
            server: server.to_owned(),
            username: username.to_owned(),
            cookies: Default::default(),
            device: b64(me.to_bytes().as_slice()),
            vault: None,
        };
        Ok(Session {
            dir: dir.to_owned(),
            api: Api::new(server, Default::default()),
            local,
            me,
            ledger: None,
            keys: Keyring::default(),
            recovery: None,
        })
    }

    /// A device folder with its vault.
    pub fn open(dir: &Path) -> Result<Session, String> {
        let local = local::load(dir)?.ok_or_else(|| {
            format!(
                "{} holds no device; run `latch vault init` or `join` first",
                dir.display()
            )
        })?;
        let me = DeviceSecret::from_bytes(&unb64("device", &local.device)?)
            .map_err(|e| e.to_string())?;
        let replica = local
            .vault
            .clone()
            .ok_or("this device is in no vault yet")?;
        let entries: Vec<Vec<u8>> = replica
            .ledger
            .iter()
            .map(|e| unb64("ledger entry", e))
            .collect::<Result<_, _>>()?;
        let ledger = Ledger::replay(&entries).map_err(|e| format!("the saved ledger: {e}"))?;
        let mut keys = Keyring::default();
        for (epoch, key) in &replica.epoch_keys {
            keys.insert(
                EpochKey::from_bytes(*epoch, &unb64("epoch key", key)?)
                    .map_err(|e| e.to_string())?,
            );
        }
        let recovery = RecoveryKey::from_bytes(&unb64("recovery key", &replica.recovery_key)?)
            .map_err(|e| e.to_string())?;
        Ok(Session {
            dir: dir.to_owned(),
            api: Api::new(&local.server, local.cookies.clone()),
            local,
            me,
            ledger: Some(ledger),
            keys,
            recovery: Some(recovery),
        })
    }

    pub fn save(&mut self) -> Result<(), String> {
        self.local.cookies = self.api.cookies.clone();
        if let Some(r) = self.local.vault.as_mut() {
            r.epoch_keys = self
                .keys
                .epochs()
                .filter_map(|e| self.keys.get(e).ok().map(|k| (e, b64(k.bytes()))))
                .collect();
            if let Some(rk) = &self.recovery {
                r.recovery_key = b64(rk.bytes());
            }
        }
        local::save(&self.dir, &self.local)
    }

    pub fn replica(&mut self) -> Result<&mut Replica, String> {
        self.local
            .vault
            .as_mut()
            .ok_or_else(|| "this device is in no vault yet".to_owned())
    }

    pub fn ledger(&self) -> Result<&Ledger, String> {
        self.ledger
            .as_ref()
            .ok_or_else(|| "this device is in no vault yet".to_owned())
    }

    pub fn vault_id(&self) -> Result<VaultId, String> {
        Ok(self.ledger()?.vault())
    }

    /// Starts the replica from a ledger this device has verified (at creation, join or
    /// recovery).
    pub fn adopt(&mut self, ledger: Ledger, entries: Vec<Vec<u8>>) -> Result<(), String> {
        // Where the escrow is comes from the signed genesis, never from the store's answers.
        let escrow = ledger.escrow();
        self.local.vault = Some(Replica {
            id: b64(ledger.vault().0),
            escrow_id: b64(escrow.id),
            guardians: escrow.guardians.clone(),
            threshold: usize::from(escrow.threshold),
            ledger: entries.iter().map(b64).collect(),
            alerted: ledger
                .members()
                .filter(|(_, m)| m.via == Via::Recovery)
                .map(|(id, _)| id.to_string())
                .collect(),
            ..Replica::default()
        });
        self.ledger = Some(ledger);
        Ok(())
    }

    /// Appends a ledger entry this device made, with its key shares and recovery wraps.
    pub fn append(
        &mut self,
        entry: Entry,
        shares: Vec<Vec<u8>>,
        wraps: Vec<Vec<u8>>,
    ) -> Result<(), String> {
        let body = json!({
            "entry": b64(entry.bytes()),
            "shares": shares.iter().map(b64).collect::<Vec<_>>(),
            "wraps": wraps.iter().map(b64).collect::<Vec<_>>(),
        });
        self.api
            .call("POST", "/vault/ledger", Some(&body), Some(&self.me))
            .map_err(|e| e.to_string())?;
        let ledger = self.ledger.as_mut().ok_or("no vault")?;
        ledger.append(entry.bytes()).map_err(|e| e.to_string())?;
        self.replica()?.ledger.push(b64(entry.bytes()));
        Ok(())
    }

    /// Brings the ledger up to the store's head, refusing a rollback or a fork; returns the
    /// alerts the person must see (devices that joined through recovery).
    pub fn pull_ledger(&mut self) -> Result<Vec<String>, String> {
        let server = self.api.get("/vault").map_err(|e| e.to_string())?;
        let ledger = self.ledger.as_mut().ok_or("no vault")?;
        let seen = ledger.head();
        let head_seq = server["head"]["seq"]
            .as_i64()
            .ok_or("the server sent no head")?;
        if head_seq < seen.seq as i64 {
            return Err(VaultError::Rollback {
                seen: seen.seq,
                offered: head_seq.max(0) as u64,
            }
            .to_string());
        }
        let answer = self
            .api
            .get(&format!("/vault/ledger?from={}", seen.seq + 1))
            .map_err(|e| e.to_string())?;
        let mut added = Vec::new();
        for e in answer["entries"].as_array().into_iter().flatten() {
            let bytes = unb64("ledger entry", e.as_str().unwrap_or_default())?;
            ledger
                .append(&bytes)
                .map_err(|e| format!("the store sent a ledger entry this device refuses: {e}"))?;
            added.push(b64(&bytes));
        }
        let head_hash = unb64("head", field(&server["head"], "hash")?)?;
        if ledger.head().seq as i64 == head_seq
            && ledger.head().hash.as_slice() != head_hash.as_slice()
        {
            return Err(VaultError::Fork {
                seq: head_seq as u64,
            }
            .to_string());
        }
        let me = self.me.id();
        let members: Vec<(DeviceId, Via)> = ledger.members().map(|(id, m)| (*id, m.via)).collect();
        let in_vault = ledger.member(&me).is_some();
        let replica = self.replica()?;
        replica.ledger.extend(added);
        let mut alerts = Vec::new();
        for (id, via) in members {
            if via == Via::Recovery && id != me && !replica.alerted.contains(&id.to_string()) {
                alerts.push(format!(
                    "ALERT: device {id} joined this vault using recovery (escrow), not by pairing"
                ));
                replica.alerted.push(id.to_string());
            }
        }
        if !in_vault {
            return Err(format!("this device ({me}) was removed from the vault"));
        }
        Ok(alerts)
    }

    /// Opens the key shares addressed to this device.
    pub fn pull_keys(&mut self) -> Result<(), String> {
        let me = self.me.id();
        let answer = self
            .api
            .get(&format!("/vault/shares?device={me}"))
            .map_err(|e| e.to_string())?;
        let ledger = self.ledger.as_ref().ok_or("no vault")?;
        let mut newest: Option<(u64, RecoveryKey)> = None;
        for s in answer["shares"].as_array().into_iter().flatten() {
            let bytes = unb64("share", s.as_str().unwrap_or_default())?;
            // A share that does not open (forged, or signed by a device removed since) is
            // skipped: it must not lock this device out of the keys it can open.
            let (key, rk) = match open_share(&bytes, &self.me, ledger) {
                Ok(opened) => opened,
                Err(e) => {
                    eprintln!("latch vault: a key share is refused: {e}");
                    continue;
                }
            };
            if newest.as_ref().is_none_or(|(e, _)| key.epoch() >= *e) {
                newest = Some((key.epoch(), rk));
            }
            self.keys.insert(key);
        }
        if let Some((epoch, rk)) = newest {
            let named = rk.signing_key().map(|k| k.public()).ok() == Some(ledger.recovery_public());
            if epoch == ledger.epoch() && named {
                self.recovery = Some(rk);
            }
        }
        Ok(())
    }

    /// Takes every change after the cursor; returns how many items changed.
    pub fn pull_items(&mut self) -> Result<usize, String> {
        let mut changed = 0;
        loop {
            let cursor = self.replica()?.cursor;
            let page = self
                .api
                .get(&format!("/vault/changes?after={cursor}"))
                .map_err(|e| e.to_string())?;
            for c in page["changes"].as_array().into_iter().flatten() {
                let item = ItemId::parse(field(c, "item")?).map_err(|e| e.to_string())?;
                let revision = c["revision"].as_u64().ok_or("a change has no revision")?;
                let sealed = unb64("sealed item", field(c, "sealed")?)?;
                let key = item.to_string();
                // An item this device refuses is reported and skipped: one bad item must not
                // stop the rest of the sync (the cursor moves past it).
                if let Err(refused) = self.check_change(item, revision, &sealed) {
                    eprintln!("latch vault: item {item} refused: {refused}");
                    continue;
                }
                self.replica()?.items.insert(
                    key,
                    Stored {
                        revision,
                        sealed: b64(&sealed),
                    },
                );
                changed += 1;
            }
            let next = page["cursor"].as_i64().unwrap_or(cursor);
            self.replica()?.cursor = next;
            if page["more"] != true {
                return Ok(changed);
            }
        }
    }

    /// A change is taken only if it opens, is not older than the revision this device holds,
    /// and is not sealed under an older epoch than that revision (a revoked device could still
    /// seal under the epochs it knew).
    fn check_change(&self, item: ItemId, revision: u64, sealed: &[u8]) -> Result<(), String> {
        let vault = self.vault_id()?;
        let header = item_header(sealed).map_err(|e| e.to_string())?;
        if let Some(known) = self
            .local
            .vault
            .as_ref()
            .and_then(|r| r.items.get(&item.to_string()))
        {
            if known.revision > revision {
                return Err(VaultError::StaleRevision {
                    have: known.revision,
                    got: revision,
                }
                .to_string());
            }
            let before =
                item_header(&unb64("sealed item", &known.sealed)?).map_err(|e| e.to_string())?;
            if header.epoch < before.epoch {
                return Err(format!(
                    "sealed under epoch {}, older than the {} it replaces",
                    header.epoch, before.epoch
                ));
            }
        }
        open_item(sealed, vault, item, revision, &self.keys)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// How far this device has synced: the ledger's head, the epochs it holds keys for, and
    /// the change cursor. Equal before and after a pull, nothing came in.
    pub fn progress(&self) -> (u64, usize, i64) {
        let head = self.ledger.as_ref().map_or(0, |l| l.head().seq);
        let cursor = self.local.vault.as_ref().map_or(0, |r| r.cursor);
        (head, self.keys.epochs().count(), cursor)
    }

    pub fn pull(&mut self) -> Result<Vec<String>, String> {
        let alerts = self.pull_ledger()?;
        self.pull_keys()?;
        self.pull_items()?;
        Ok(alerts)
    }

    /// An item's content, as last synced.
    pub fn content(&self, item: ItemId) -> Result<Option<(u64, Content)>, String> {
        let r = self.local.vault.as_ref().ok_or("no vault")?;
        let Some(stored) = r.items.get(&item.to_string()) else {
            return Ok(None);
        };
        let sealed = unb64("sealed item", &stored.sealed)?;
        let content = open_item(&sealed, self.vault_id()?, item, stored.revision, &self.keys)
            .map_err(|e| e.to_string())?;
        Ok(Some((stored.revision, content)))
    }

    /// Every item this device holds, opened.
    pub fn contents(&self) -> Result<Vec<(ItemId, u64, Content)>, String> {
        let r = self.local.vault.as_ref().ok_or("no vault")?;
        let mut out = Vec::with_capacity(r.items.len());
        for id in r.items.keys() {
            let item = ItemId::parse(id).map_err(|e| e.to_string())?;
            if let Some((rev, c)) = self.content(item)? {
                out.push((item, rev, c));
            }
        }
        Ok(out)
    }

    /// Writes `content` as the item's next revision. When another device wrote first, the
    /// two versions are merged (field by field; a deletion wins) and written again.
    pub fn put(&mut self, item: ItemId, mut content: Content) -> Result<u64, String> {
        let vault = self.vault_id()?;
        for _ in 0..16 {
            let base = self
                .replica()?
                .items
                .get(&item.to_string())
                .map_or(0, |s| s.revision);
            let epoch = self.ledger()?.epoch();
            let key = self.keys.get(epoch).map_err(|e| e.to_string())?;
            let sealed = seal_item(vault, item, base + 1, key, &content, &mut OsRng)
                .map_err(|e| e.to_string())?;
            let body = json!({ "baseRevision": base, "sealed": b64(&sealed) });
            match self.api.call(
                "PUT",
                &format!("/vault/items/{item}"),
                Some(&body),
                Some(&self.me),
            ) {
                Ok(_) => {
                    self.replica()?.items.insert(
                        item.to_string(),
                        Stored {
                            revision: base + 1,
                            sealed: b64(&sealed),
                        },
                    );
                    return Ok(base + 1);
                }
                Err(e @ ApiCallError::Refused { .. }) if e.code() == Some("revision_conflict") => {
                    let current = &e.body().map(|b| b["current"].clone()).unwrap_or_default();
                    let revision = current["revision"]
                        .as_u64()
                        .ok_or("the conflict names no revision")?;
                    let theirs = unb64("sealed item", field(current, "sealed")?)?;
                    let theirs_content = open_item(&theirs, vault, item, revision, &self.keys)
                        .map_err(|e| format!("item {item}: {e}"))?;
                    content = content.merge(&theirs_content).map_err(|e| e.to_string())?;
                    self.replica()?.items.insert(
                        item.to_string(),
                        Stored {
                            revision,
                            sealed: b64(&theirs),
                        },
                    );
                }
                Err(e) if e.code() == Some("stale_epoch") => {
                    self.pull_ledger()?;
                    self.pull_keys()?;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Err(format!(
            "item {item}: too many concurrent writes; try again"
        ))
    }
}
