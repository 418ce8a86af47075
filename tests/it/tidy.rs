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

#[test]
fn fixtures_are_fresh() {
    let o = xtask(&["fixtures", "--check"]);
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
}

#[test]
fn schema_is_fresh() {
    let o = xtask(&["schema", "--check"]);
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
}

#[test]
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
