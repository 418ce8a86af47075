//! Repository hygiene: generated files are fresh, library code does not unwrap.

use crate::util::*;

fn xtask(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--package", "xtask", "--"])
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn fixtures_are_fresh() {
    let o = xtask(&["fixtures", "--check"]);
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
}

fn schema_is_fresh() {
    let o = xtask(&["schema", "--check"]);
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
}

fn no_unwrap_or_print_in_library_code() {
    let mut bad = Vec::new();
    let mut stack = vec![root().join("src")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&p).unwrap();
            // Unit tests sit at the end of a file behind #[cfg(test)].
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (i, line) in code.lines().enumerate() {
                let l = line.trim_start();
                if l.starts_with("//") {
                    continue;
                }
                if l.contains(".unwrap()") || l.contains(".expect(") {
                    bad.push(format!("{rel}:{}: {l}", i + 1));
                }
                // Inputs are opened by random_access::open_file, which refuses a FIFO or
                // device at once instead of waiting on it.
                // (std's File, not CompoundFile, which opens bytes already read.)
                let opens = l
                    .match_indices("File::open(")
                    .any(|(at, _)| !l[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
                if opens && rel != "src/random_access.rs" {
                    bad.push(format!("{rel}:{}: opens a file without random_access::open_file", i + 1));
                }
                let prints = l.contains("println!(") || l.contains("eprintln!(") || l.contains("print!(");
                if prints && !rel.starts_with("src/cli/") && rel != "src/main.rs" {
                    bad.push(format!("{rel}:{}: prints outside cli/", i + 1));
                }
            }
            if !text.starts_with("//!") {
                bad.push(format!("{rel}: no module doc"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Every `.rs` file under `src/`, as (path relative to the root, text).
fn sources() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root().join("src")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The layer of a top-level module: dependencies point from higher layers to lower ones
/// only (formats never name the package model, plans or workflows).
fn layer(module: &str) -> Option<usize> {
    Some(match module {
        "error" | "dates" | "deadline" | "contain" | "heap" | "random_access" | "output" => 0,
        "cab" | "msi" | "msp" | "delta" | "pe" | "sign" => 1,
        "package" => 2,
        "extract" | "manifest" | "tables" | "info" | "diff" => 3,
        "hotfix" | "build" => 4,
        "testing" | "fuzzing" | "lib" => 5,
        _ => return None,
    })
}

/// The top-level module a file under `src/` belongs to (`None` for the binary).
fn module_of(rel: &str) -> Option<&str> {
    let rest = rel.strip_prefix("src/")?;
    if rest.starts_with("cli/") || rest == "main.rs" {
        return None;
    }
    Some(rest.split('/').next()?.trim_end_matches(".rs"))
}

/// The `crate::x` paths a file's code (not its unit tests) names.
fn crate_refs(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = Vec::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + 7..];
            let end = after.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(after.len());
            out.push(after[..end].trim_end_matches(':').to_string());
            rest = &after[end..];
        }
    }
    out
}

fn dependencies_point_one_way() {
    let mut bad = Vec::new();
    for (rel, text) in sources() {
        let Some(m) = module_of(&rel) else { continue };
        let Some(mine) = layer(m) else {
            bad.push(format!("{rel}: module {m} has no layer in tidy.rs"));
            continue;
        };
        for r in crate_refs(&text) {
            let target = r.split("::").next().unwrap_or("");
            match layer(target) {
                Some(l) if l > mine => bad.push(format!("{rel}: names crate::{r} (layer {l} above {m}'s {mine})")),
                None if !target.is_empty() && target.chars().next().is_some_and(char::is_lowercase) => {
                    bad.push(format!("{rel}: names crate::{r}, a module with no layer"))
                }
                _ => {}
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// No two files of the library name each other, directly or through others (edges into
/// and out of `mod.rs` files, which only declare and re-export, do not count).
fn no_file_level_cycles() {
    use std::collections::{BTreeMap, BTreeSet};
    let files: BTreeMap<String, String> = sources().into_iter().collect();
    let resolve = |from: &str, path: &str| -> Option<String> {
        // `super::x::…` from src/a/b.rs is src/a/x.rs; `crate::a::x::…` is src/a/x.rs.
        let parts: Vec<&str> = path.split("::").collect();
        let (base, rest): (String, &[&str]) = match parts.first() {
            Some(&"super") => {
                let dir = from.rsplit_once('/').map(|x| x.0).unwrap_or("src");
                (dir.to_string(), &parts[1..])
            }
            Some(&"crate") => ("src".to_string(), &parts[1..]),
            _ => return None,
        };
        let mut dir = base;
        for (i, p) in rest.iter().enumerate() {
            let file = format!("{dir}/{p}.rs");
            if files.contains_key(&file) {
                return Some(file);
            }
            if files.contains_key(&format!("{dir}/{p}/mod.rs")) && i + 1 < rest.len() {
                dir = format!("{dir}/{p}");
                continue;
            }
            return None;
        }
        None
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in &files {
        if rel.ends_with("/mod.rs") || rel == "src/lib.rs" || rel == "src/main.rs" || rel.starts_with("src/cli/") {
            continue;
        }
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for start in ["super::", "crate::"] {
                let mut rest = line;
                while let Some(i) = rest.find(start) {
                    let after = &rest[i..];
                    let end =
                        after.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(after.len());
                    if let Some(to) = resolve(rel, after[..end].trim_end_matches(':')) {
                        if &to != rel && !to.ends_with("/mod.rs") {
                            edges.entry(rel.clone()).or_default().insert(to);
                        }
                    }
                    rest = &after[end.max(1)..];
                }
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = path.iter().position(|p| p == m).unwrap_or(0);
                    let mut cycle = path[at..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(m, edges, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in edges.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, &edges, &mut state, &mut Vec::new()) {
                panic!("files name each other: {}", c.join(" -> "));
            }
        }
    }
}

/// The command line stays a thin layer: no file of it over 400 lines, and the library
/// does not declare it.
fn cli_files_are_small_and_outside_the_library() {
    let mut bad = Vec::new();
    for (rel, text) in sources() {
        if rel.starts_with("src/cli/") && text.lines().count() > 400 {
            bad.push(format!("{rel}: {} lines", text.lines().count()));
        }
    }
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    if lib.contains("mod cli") {
        bad.push("src/lib.rs declares mod cli".into());
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

crate::cases![
    fixtures_are_fresh,
    schema_is_fresh,
    no_unwrap_or_print_in_library_code,
    dependencies_point_one_way,
    no_file_level_cycles,
    cli_files_are_small_and_outside_the_library,
];
