//! The passkeys in the vault: list, rename, delete, and CXF import and export.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use latch_vault::content::{Content, Stamp, Stamped};
use latch_vault::cxf::{self, Exportable};
use latch_vault::ItemId;
use rand_core::OsRng;

use super::replica::{b64, Session};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn list(s: &mut Session) -> Result<(), String> {
    for alert in s.pull()? {
        println!("{alert}");
    }
    s.save()?;
    // A reader that stops early (`| head`) ends the listing, not the process.
    let mut out = std::io::stdout().lock();
    for (item, revision, content) in s.contents()? {
        if let Content::Passkey(p) = content {
            let written = writeln!(
                out,
                "{item}  {}  {}  ({}; revision {revision}; credential {})",
                p.rp_id,
                p.user_name.value,
                p.user_display_name.value,
                b64(&p.credential_id)
            );
            if written.is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}

pub fn rename(
    s: &mut Session,
    item: &str,
    user_name: Option<String>,
    display_name: Option<String>,
) -> Result<(), String> {
    let item = ItemId::parse(item).map_err(|e| e.to_string())?;
    s.pull()?;
    let Some((_, Content::Passkey(mut p))) = s.content(item)? else {
        return Err(format!("no passkey {item} in the vault"));
    };
    let me = s.me.id();
    if let Some(name) = user_name {
        p.user_name = Stamped {
            value: name,
            at: Stamp::after(Some(p.user_name.at), now_ms(), me),
        };
    }
    if let Some(name) = display_name {
        p.user_display_name = Stamped {
            value: name,
            at: Stamp::after(Some(p.user_display_name.at), now_ms(), me),
        };
    }
    let revision = s.put(item, Content::Passkey(p))?;
    s.save()?;
    println!("{item} is at revision {revision}");
    Ok(())
}

pub fn delete(s: &mut Session, item: &str) -> Result<(), String> {
    let item = ItemId::parse(item).map_err(|e| e.to_string())?;
    s.pull()?;
    if s.content(item)?.is_none() {
        return Err(format!("no item {item} in the vault"));
    }
    let revision = s.put(
        item,
        Content::Deleted {
            at: Stamp::after(None, now_ms(), s.me.id()),
        },
    )?;
    s.save()?;
    println!("deleted {item} (tombstone at revision {revision})");
    Ok(())
}

pub fn import(s: &mut Session, document: &str) -> Result<(), String> {
    let doc: serde_json::Value =
        serde_json::from_str(document).map_err(|e| format!("not CXF JSON: {e}"))?;
    let passkeys = cxf::import(&doc, now_ms(), s.me.id()).map_err(|e| e.to_string())?;
    s.pull()?;
    let known: Vec<Vec<u8>> = s
        .contents()?
        .into_iter()
        .filter_map(|(_, _, c)| match c {
            Content::Passkey(p) => Some(p.credential_id.clone()),
            Content::Deleted { .. } => None,
        })
        .collect();
    let mut added = 0;
    for p in passkeys {
        if known.contains(&p.credential_id) {
            continue;
        }
        let item = ItemId::random(&mut OsRng);
        s.put(item, Content::Passkey(Box::new(p)))?;
        added += 1;
    }
    s.save()?;
    println!("imported {added} passkey(s)");
    Ok(())
}

pub fn export(s: &mut Session) -> Result<String, String> {
    s.pull()?;
    s.save()?;
    let contents = s.contents()?;
    let passkeys: Vec<_> = contents
        .iter()
        .filter_map(|(_, _, c)| match c {
            // Synced passkeys never count signatures.
            Content::Passkey(p) => Some(Exportable {
                passkey: p,
                counter: 0,
            }),
            Content::Deleted { .. } => None,
        })
        .collect();
    let (doc, _) = cxf::export(&s.local.server, passkeys, now_ms() / 1000);
    serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())
}
