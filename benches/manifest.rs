//! The manifest readers on a lock the size `manifest lock` writes for the benchmark's
//! big package (20,067 files): the plain-subset reader against the YAML parser. The
//! plain reader is kept only because it pays for itself here.

use hotfixkit::manifest::{FileEntry, Manifest, Platform};

fn main() {
    divan::main();
}

fn lock(n: usize) -> String {
    let files = (0..n)
        .map(|i| FileEntry {
            name: format!("file{i:05}.dat"),
            platform: if i % 7 == 0 { Platform::X86 } else { Platform::None },
            version: (i % 7 == 0).then(|| format!("4.0.{}.{}", i % 9000, i % 65000)),
            size: (i * 7919 % 1_000_000) as u64,
            date: "2010-01-25".into(),
            time: "06:27:00".into(),
            sha256: Some(format!("{:064x}", i * 2_654_435_761)),
            destination: Some(format!("dir{}/sub{}", i % 50, i % 7)),
            signer: None,
        })
        .collect();
    Manifest { product: "bench".into(), kb: 1, service_pack: None, signer: None, files }.to_yaml()
}

#[divan::bench(args = [20_067])]
fn plain_subset(bencher: divan::Bencher, n: usize) {
    let text = lock(n);
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench(|| hotfixkit::testing::read_manifest_plain(&text).unwrap());
}

#[divan::bench(args = [20_067])]
fn yaml_parser(bencher: divan::Bencher, n: usize) {
    let text = lock(n);
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench(|| hotfixkit::testing::read_manifest_yaml(&text).unwrap());
}
