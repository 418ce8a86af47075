//! Hashing every entry of a plan in place (each cabinet folder decoded once), for
//! comparing two packages' files without writing them.

use super::plan::{Plan, Source};
use crate::cab::EntrySink;
use crate::deadline::Deadline;
use crate::error::{Error, Result};
use std::sync::Mutex;

/// Plan index -> (size, SHA-256).
pub(crate) type EntryHashes = std::collections::BTreeMap<usize, (u64, [u8; 32])>;

/// Size and SHA-256 of every entry of `plan` (by index), each cabinet folder decoded
/// once (folders in parallel); entries that cannot be read are left out and their errors
/// returned. `progress` gets the bytes hashed (from any thread).
pub(crate) fn hash_entries(
    plan: &Plan,
    deadline: &Deadline,
    progress: Option<&(dyn Fn(u64) + Sync)>,
) -> (EntryHashes, Vec<Error>) {
    use sha2::{Digest, Sha256};
    let out: Mutex<std::collections::BTreeMap<usize, (u64, [u8; 32])>> = Mutex::new(Default::default());
    let mut errors = Vec::new();
    struct Hash<'a> {
        index: usize,
        h: Sha256,
        n: u64,
        out: &'a Mutex<std::collections::BTreeMap<usize, (u64, [u8; 32])>>,
        progress: Option<&'a (dyn Fn(u64) + Sync)>,
    }
    impl EntrySink for Hash<'_> {
        fn write(&mut self, data: &[u8]) -> Result<()> {
            self.h.update(data);
            self.n += data.len() as u64;
            if let Some(p) = self.progress {
                p(data.len() as u64);
            }
            Ok(())
        }
        fn finish(&mut self) -> Result<()> {
            let d: [u8; 32] = std::mem::take(&mut self.h).finalize().into();
            self.out.lock().map_err(|_| Error::format("internal lock poisoned"))?.insert(self.index, (self.n, d));
            Ok(())
        }
    }
    // Entries are told apart by address: the sink gets the entry, not its index.
    let index_of: std::collections::HashMap<usize, usize> =
        plan.entries.iter().enumerate().map(|(i, e)| (e as *const super::plan::PlanEntry as usize, i)).collect();
    let all: Vec<usize> = (0..plan.entries.len()).collect();
    let sink = |e: &super::plan::PlanEntry| -> Box<dyn EntrySink + '_> {
        let index = index_of.get(&(e as *const super::plan::PlanEntry as usize)).copied().unwrap_or(usize::MAX);
        Box::new(Hash { index, h: Sha256::new(), n: 0, out: &out, progress })
    };
    errors.extend(super::exec::extract_cabinet_groups(plan, &all, deadline, |e| e.key.clone(), sink));
    for (i, e) in plan.entries.iter().enumerate() {
        if matches!(e.source, Source::Cabinet { .. }) {
            continue;
        }
        match super::read::read_source(plan, &e.source, &e.key, deadline) {
            Ok(data) => {
                if let Some(p) = progress {
                    p(data.len() as u64);
                }
                let d: [u8; 32] = Sha256::digest(&data).into();
                if let Ok(mut m) = out.lock() {
                    m.insert(i, (data.len() as u64, d));
                }
            }
            Err(err) => errors.push(err),
        }
    }
    (out.into_inner().unwrap_or_default(), errors)
}
