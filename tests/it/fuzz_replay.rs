//! The fuzz targets' seed corpora and crash regressions, replayed on the stable toolchain.

use crate::util::root;

fn replay_fuzz_corpora_and_regressions() {
    let mut n = 0;
    for (name, f) in hotfixkit::fuzzing::TARGETS {
        for kind in ["seeds", "regressions"] {
            let dir = root().join("fuzz").join(kind).join(name);
            let Ok(rd) = std::fs::read_dir(&dir) else { continue };
            let mut files: Vec<_> = rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
            files.sort();
            for p in files {
                let data = std::fs::read(&p).unwrap();
                f(&data);
                n += 1;
            }
        }
    }
    assert!(n >= 15, "only {n} inputs replayed");
}

crate::cases![replay_fuzz_corpora_and_regressions,];
