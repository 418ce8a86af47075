//! Micro-benchmarks (divan): MSZIP blocks alone and with history, a whole cabinet folder,
//! SHA-256 over 4 MiB, and the PA19/LZX DELTA decoder. `cargo bench`.

use hotfixkit::cab::{CabHeader, CabSet, MemSource, OpenCab};
use hotfixkit::testing::{write_cab, write_pa19, CabCompression, CabInput};
use std::io::Cursor;
use std::sync::Arc;

fn main() {
    divan::main();
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i / 7) ^ (i % 251)) as u8).collect()
}

fn cabinet(n: usize) -> Vec<u8> {
    write_cab(
        &[vec![CabInput { name: "f".into(), data: payload(n), datetime: (2010, 1, 1, 0, 0, 0) }]],
        CabCompression::MsZip,
    )
    .unwrap()
}

#[divan::bench(args = [1 << 20, 8 << 20])]
fn mszip_folder(bencher: divan::Bencher, n: usize) {
    let cab = cabinet(n);
    bencher.counter(divan::counter::BytesCount::new(n)).bench(|| {
        let header = CabHeader::read(&mut Cursor::new(&cab)).unwrap();
        let set =
            CabSet::assemble(vec![OpenCab::new(Arc::new(MemSource::new("b.cab", cab.clone())), header)], Vec::new());
        let mut total = 0usize;
        set.decode_folder(0, &hotfixkit::Deadline::NONE, &mut |_, d| {
            total += d.len();
            Ok(true)
        })
        .unwrap();
        total
    });
}

#[divan::bench]
fn sha256_4mib(bencher: divan::Bencher) {
    use sha2::Digest;
    let data = payload(4 << 20);
    bencher.counter(divan::counter::BytesCount::new(data.len())).bench(|| sha2::Sha256::digest(&data));
}

#[divan::bench]
fn pa19_uncompressed_1mib(bencher: divan::Bencher) {
    let old = payload(1 << 20);
    let new: Vec<u8> = old.iter().map(|b| b.wrapping_add(1)).collect();
    let patch = write_pa19(&old, &new);
    bencher
        .counter(divan::counter::BytesCount::new(new.len()))
        .bench(|| hotfixkit::delta::apply(&patch, Some(&old)).unwrap());
}
