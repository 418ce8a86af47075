//! Directory table resolution for the administrative image: the source half of each
//! DefaultDir, long names, `.` for "same as parent", roots mapped to the target.

use super::database::Database;
use super::table::Val;
use std::collections::HashMap;

/// Pick the name of one half (`short|long`): the long one unless `short` is asked for.
pub fn pick_name(half: &str, short: bool) -> &str {
    match half.split_once('|') {
        Some((s, l)) => {
            if short {
                s
            } else {
                l
            }
        }
        None => half,
    }
}

/// The source half of a DefaultDir value (`target:source`; no colon = both the same).
pub fn source_half(default_dir: &str) -> &str {
    match default_dir.split_once(':') {
        Some((_, s)) => s,
        None => default_dir,
    }
}

/// Every Directory row resolved, plus notes on anything odd (missing parents, cycles).
#[derive(Debug, Default)]
pub struct Directories {
    /// Directory key -> components.
    pub dirs: HashMap<String, Vec<String>>,
    /// What was odd and how it was resolved.
    pub notes: Vec<String>,
}

struct Row {
    parent: Option<String>,
    default_dir: String,
}

impl Directories {
    /// Resolve the Directory table of `db` (absent table: nothing to resolve).
    /// `short` picks short names from each `short|long` pair.
    pub fn resolve(db: &Database, short: bool) -> Directories {
        Self::resolve_tables(&db.tables, short)
    }

    /// Resolve a Directory table taken from a set of tables (a patched view, say).
    pub fn resolve_tables(tables: &std::collections::BTreeMap<String, super::TableData>, short: bool) -> Directories {
        let mut rows: HashMap<String, Row> = HashMap::new();
        if let Some(t) = tables.get("Directory") {
            for r in &t.rows {
                let key = t.get(r, "Directory").text();
                let parent = match t.get(r, "Directory_Parent") {
                    Val::Str(s) if !s.is_empty() => Some(s.to_string()),
                    _ => None,
                };
                let default_dir = t.get(r, "DefaultDir").text();
                rows.insert(key, Row { parent, default_dir });
            }
        }
        let mut out = Directories::default();
        // Resolve in key order so that the result never depends on hash order: a cycle is
        // cut at the first of its rows reached this way.
        let mut keys: Vec<String> = rows.keys().cloned().collect();
        keys.sort();
        for k in keys {
            resolve_one(&k, &rows, short, &mut out);
        }
        out
    }

    /// Components for directory `key` (`None` if the table has no such row).
    pub fn get(&self, key: &str) -> Option<&Vec<String>> {
        self.dirs.get(key)
    }
}

fn resolve_one(key: &str, rows: &HashMap<String, Row>, short: bool, out: &mut Directories) -> Vec<String> {
    if let Some(d) = out.dirs.get(key) {
        return d.clone();
    }
    // Walk up iteratively to the root, stopping at cycles, missing parents or resolved rows.
    let mut chain: Vec<String> = Vec::new();
    let mut base: Vec<String> = Vec::new();
    let mut cur = key.to_string();
    loop {
        if let Some(d) = out.dirs.get(&cur) {
            base = d.clone();
            break;
        }
        if chain.contains(&cur) {
            out.notes.push(format!("Directory {cur:?} is part of a cycle; resolved as a root"));
            // Treat the first repeated row as a root.
            let pos = chain.iter().position(|c| c == &cur).unwrap_or(0);
            chain.truncate(pos);
            out.dirs.insert(cur.clone(), Vec::new());
            break;
        }
        let Some(row) = rows.get(&cur) else {
            out.notes.push(format!("Directory parent {cur:?} is missing; its children are placed at the image root"));
            out.dirs.insert(cur.clone(), Vec::new());
            break;
        };
        chain.push(cur.clone());
        match &row.parent {
            Some(p) if p != &cur => cur = p.clone(),
            _ => {
                // A root: TARGETDIR (SourceDir) and any other self/null-parented row map to
                // the target itself.
                break;
            }
        }
    }
    // Unwind: the last element of chain is the top-most unresolved row.
    while let Some(k) = chain.pop() {
        let row = &rows[&k];
        let is_root = match &row.parent {
            None => true,
            Some(p) => p == &k,
        };
        let comps = if is_root {
            Vec::new()
        } else {
            let name = pick_name(source_half(&row.default_dir), short);
            let mut c = base.clone();
            if !name.is_empty() && name != "." {
                c.push(name.to_string());
            }
            c
        };
        out.dirs.insert(k.clone(), comps.clone());
        base = comps;
    }
    out.dirs.get(key).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn halves_and_names() {
        assert_eq!(source_half("PFiles:Src"), "Src");
        assert_eq!(source_half("a|Long"), "a|Long");
        assert_eq!(pick_name("VC80|Microsoft.VC80.CRT", false), "Microsoft.VC80.CRT");
        assert_eq!(pick_name("VC80|Microsoft.VC80.CRT", true), "VC80");
        assert_eq!(pick_name(".", false), ".");
    }
}
