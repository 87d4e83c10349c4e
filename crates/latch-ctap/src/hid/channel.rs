//! Channel allocation: which CIDs exist, and which one to forget when the table is full.
//!
//! CTAPHID_INIT on the broadcast channel asks for a fresh CID (CTAP 2.1 §11.2.9.1.3). The table is
//! bounded ([`MAX_CHANNELS`](super::MAX_CHANNELS)); when it is full the least recently used channel
//! is forgotten, except channels the caller pins (the one with a transaction in progress and the
//! lock holder). Forgotten channels then get `ERR_INVALID_CHANNEL` and the client re-INITs.

use super::Cid;

/// Where new channel identifiers come from. Inject a CSPRNG in production and a counter in tests.
///
/// Any `FnMut() -> u32` is a source. Values that are reserved (0, broadcast) or already in use are
/// skipped by the table, so even a constant source yields distinct valid CIDs.
pub trait CidSource {
    /// A fresh 32-bit value; need not be unique or valid.
    fn next_cid(&mut self) -> u32;
}

impl<F: FnMut() -> u32> CidSource for F {
    fn next_cid(&mut self) -> u32 {
        self()
    }
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    cid: Cid,
    last_used: u64,
}

/// Bounded set of allocated channels with least-recently-used eviction.
#[derive(Debug)]
pub(super) struct ChannelTable {
    slots: Vec<Slot>,
    capacity: usize,
    /// Logical clock for LRU order: bumped on every use, so ties never happen.
    uses: u64,
}

impl ChannelTable {
    /// A table holding at most `capacity` channels (at least one).
    pub(super) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        ChannelTable {
            slots: Vec::with_capacity(capacity),
            capacity,
            uses: 0,
        }
    }

    pub(super) fn contains(&self, cid: Cid) -> bool {
        self.slots.iter().any(|s| s.cid == cid)
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Marks `cid` as just used, if allocated.
    pub(super) fn touch(&mut self, cid: Cid) {
        let now = self.tick();
        if let Some(slot) = self.slots.iter_mut().find(|s| s.cid == cid) {
            slot.last_used = now;
        }
    }

    /// Allocates a new channel, evicting the least recently used unpinned one if the table is
    /// full. Returns `None` only if every slot is pinned.
    pub(super) fn allocate(&mut self, source: &mut dyn CidSource, pinned: &[Cid]) -> Option<Cid> {
        // Choose before evicting, so a client never gets back the CID just taken from another.
        let cid = self.fresh(source);
        if self.slots.len() >= self.capacity {
            let victim = self
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| !pinned.contains(&s.cid))
                .min_by_key(|(_, s)| s.last_used)
                .map(|(i, _)| i)?;
            self.slots.swap_remove(victim);
        }
        let last_used = self.tick();
        self.slots.push(Slot { cid, last_used });
        Some(cid)
    }

    /// One draw from the source, then a bounded linear probe past reserved and taken values:
    /// at most `len + 2` candidates are unusable, so `len + 3` probes always find one.
    fn fresh(&self, source: &mut dyn CidSource) -> Cid {
        let start = source.next_cid();
        let mut cid = Cid(start);
        for i in 0..=self.slots.len().saturating_add(2) {
            cid = Cid(start.wrapping_add(u32::try_from(i).unwrap_or(u32::MAX)));
            if cid.is_allocatable() && !self.contains(cid) {
                break;
            }
        }
        cid
    }

    fn tick(&mut self) -> u64 {
        self.uses = self.uses.wrapping_add(1);
        self.uses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(start: u32) -> impl FnMut() -> u32 {
        let mut n = start;
        move || {
            let v = n;
            n = n.wrapping_add(1);
            v
        }
    }

    #[test]
    fn allocates_from_the_source() {
        let mut t = ChannelTable::new(4);
        let mut src = counter(100);
        assert_eq!(t.allocate(&mut src, &[]), Some(Cid(100)));
        assert_eq!(t.allocate(&mut src, &[]), Some(Cid(101)));
        assert!(t.contains(Cid(100)) && t.contains(Cid(101)));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn never_hands_out_reserved_broadcast_or_duplicate_cids() {
        let mut t = ChannelTable::new(16);
        let mut zero = || 0u32;
        let mut broadcast = || u32::MAX;
        let mut seen = Vec::new();
        for i in 0..16 {
            let cid = if i % 2 == 0 {
                t.allocate(&mut zero, &[]).unwrap()
            } else {
                t.allocate(&mut broadcast, &[]).unwrap()
            };
            assert!(cid != Cid::RESERVED && cid != Cid::BROADCAST, "{cid}");
            assert!(!seen.contains(&cid), "duplicate {cid}");
            seen.push(cid);
        }
        assert_eq!(t.len(), 16);
    }

    #[test]
    fn full_table_evicts_least_recently_used() {
        let mut t = ChannelTable::new(3);
        let mut src = counter(1);
        let a = t.allocate(&mut src, &[]).unwrap();
        let b = t.allocate(&mut src, &[]).unwrap();
        let c = t.allocate(&mut src, &[]).unwrap();
        t.touch(a);
        let d = t.allocate(&mut src, &[]).unwrap();
        assert!(!t.contains(b), "b was least recently used");
        assert!(t.contains(a) && t.contains(c) && t.contains(d));
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn pinned_channels_are_not_evicted() {
        let mut t = ChannelTable::new(2);
        let mut src = counter(1);
        let a = t.allocate(&mut src, &[]).unwrap();
        let b = t.allocate(&mut src, &[]).unwrap();
        let c = t.allocate(&mut src, &[a]).unwrap();
        assert!(t.contains(a) && t.contains(c) && !t.contains(b));
        assert_eq!(t.allocate(&mut src, &[a, c]), None);
        assert!(t.contains(a) && t.contains(c));
    }
}
