//! Hostile inputs from ../shared/SECURITY-CASES.md, generated here (not copied from
//! peers): names that must never become paths outside the target, broken cabinet
//! structures, abusive MSI tables. `fixtures/hostile/cases.tsv` lists each file with the
//! case number and the text its error must contain ("ok" when it must extract).

use anyhow::Result;
use hotfixkit::testing::*;
use std::collections::BTreeMap;

/// The 36-byte CFHEADER (no reserve, no set links) of a cabinet of `total` bytes whose
/// file table starts at `coff_files`.
fn cfheader(total: usize, coff_files: u32, folders: u16, files: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(36);
    out.extend_from_slice(b"MSCF");
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&coff_files.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&[3, 1]);
    out.extend_from_slice(&folders.to_le_bytes());
    out.extend_from_slice(&files.to_le_bytes());
    out.extend_from_slice(&[0; 6]);
    out
}

/// A raw stored cabinet: one folder, the given (name bytes, attribs, data) entries.
pub fn raw_cab(entries: &[(Vec<u8>, u16, Vec<u8>)], tweak: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let data: Vec<u8> = entries.iter().flat_map(|e| e.2.iter().copied()).collect();
    let files_len: usize = entries.iter().map(|e| 16 + e.0.len() + 1).sum();
    let data_off = 36 + 8 + files_len;
    let blocks: Vec<&[u8]> = if data.is_empty() { Vec::new() } else { data.chunks(32768).collect() };
    let total = data_off + blocks.iter().map(|b| 8 + b.len()).sum::<usize>();
    let mut out = cfheader(total, 44, 1, entries.len() as u16);
    out.extend_from_slice(&(data_off as u32).to_le_bytes());
    out.extend_from_slice(&(blocks.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    let mut off = 0u32;
    for (name, attribs, d) in entries {
        out.extend_from_slice(&(d.len() as u32).to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0x3c39u16.to_le_bytes()); // 2010-01-25
        out.extend_from_slice(&0x3364u16.to_le_bytes()); // 06:27:08
        out.extend_from_slice(&attribs.to_le_bytes());
        out.extend_from_slice(name);
        out.push(0);
        off += d.len() as u32;
    }
    for b in blocks {
        let cb = b.len() as u16;
        out.extend_from_slice(&hotfixkit::testing::block_checksum(b, cb, cb).to_le_bytes());
        out.extend_from_slice(&cb.to_le_bytes());
        out.extend_from_slice(&cb.to_le_bytes());
        out.extend_from_slice(b);
    }
    tweak(&mut out);
    out
}

fn one(name: &[u8], attribs: u16) -> Vec<u8> {
    raw_cab(&[(name.to_vec(), attribs, b"evil\n".to_vec()), (b"good.txt".to_vec(), 0, b"good\n".to_vec())], |_| {})
}

/// Every hostile fixture; `cases` collects "file<TAB>case<TAB>expectation" lines.
pub fn all(out: &mut BTreeMap<String, Vec<u8>>) -> Result<()> {
    let mut cases = String::from("# file\tcase\texpected error text (ok = must extract)\n");
    let mut add = |out: &mut BTreeMap<String, Vec<u8>>, file: String, case: &str, expect: &str, bytes: Vec<u8>| {
        cases.push_str(&format!("{file}\t{case}\t{expect}\n"));
        out.insert(format!("hostile/{file}"), bytes);
    };
    // 2.1 names (each as a CAB entry; the good.txt beside it must still extract).
    let names: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("1", b"../../evil".to_vec(), 0, "unsafe"),
        ("2", b"..\\..\\evil".to_vec(), 0, "unsafe"),
        ("2", b"a\\..\\..\\evil".to_vec(), 0, "unsafe"),
        ("3", b"/etc/evil".to_vec(), 0, "absolute path"),
        ("3", b"\\evil".to_vec(), 0, "absolute path"),
        ("3", b"\\\\\\\\\\\\".to_vec(), 0, "absolute path"),
        ("3", b"////".to_vec(), 0, "absolute path"),
        ("4", b"C:\\Windows\\evil.dll".to_vec(), 0, "not allowed in Windows names"),
        ("4", b"C:evil".to_vec(), 0, "not allowed in Windows names"),
        ("4", b"1:\\evil".to_vec(), 0, "not allowed in Windows names"),
        ("4", "ä:evil".as_bytes().to_vec(), 0x80, "not allowed in Windows names"),
        ("5", b"\\\\srv\\share\\x".to_vec(), 0, "absolute path"),
        ("5", b"\\\\?\\C:\\x".to_vec(), 0, "absolute path"),
        ("5", b"\\??\\C:\\x".to_vec(), 0, "absolute path"),
        ("6", b"a/b/../../../x".to_vec(), 0, "unsafe"),
        ("6", b"a//..//..//x".to_vec(), 0, "unsafe"),
        ("6", b"a/../c:/b".to_vec(), 0, "unsafe"),
        ("7", b".".to_vec(), 0, "unsafe"),
        ("7", b"..".to_vec(), 0, "unsafe"),
        ("7", b"a/".to_vec(), 0, "unsafe"),
        ("7", b"a/.".to_vec(), 0, "unsafe"),
        ("8", b"\xC0\xAFabsolute\xC0\xAFpath".to_vec(), 0x80, "not valid UTF-8"),
        ("8", b"relative\xE0\x80\xAF..\xE0\x80\xAF..\xE0\x80\xAFx".to_vec(), 0x80, "not valid UTF-8"),
        ("9", b"innocuous\xC0\x80/../../x".to_vec(), 0x80, "not valid UTF-8"),
        ("10", b"CON".to_vec(), 0, "reserved device name"),
        ("10", b"con.txt".to_vec(), 0, "reserved device name"),
        ("10", b"NUL.tar.gz".to_vec(), 0, "reserved device name"),
        ("10", b"COM1 ".to_vec(), 0, "unsafe"),
        ("10", b"LPT9.log".to_vec(), 0, "reserved device name"),
        ("10", "COM¹".as_bytes().to_vec(), 0x80, "reserved device name"),
        ("10", b"CONIN$".to_vec(), 0, "reserved device name"),
        ("10", b"dir/PRN/x".to_vec(), 0, "reserved device name"),
        ("11", b"evil.".to_vec(), 0, "trailing dot or space"),
        ("11", b"evil ".to_vec(), 0, "trailing dot or space"),
        ("11", b"dir./x".to_vec(), 0, "trailing dot or space"),
        ("12", b"a.txt:evil".to_vec(), 0, "not allowed in Windows names"),
        ("12", b"a.txt::$DATA".to_vec(), 0, "not allowed in Windows names"),
        ("13", b"a<b".to_vec(), 0, "not allowed in Windows names"),
        ("13", b"a|b".to_vec(), 0, "not allowed in Windows names"),
        ("13", b"a?b".to_vec(), 0, "not allowed in Windows names"),
        ("13", b"a\x01b".to_vec(), 0, "control character"),
        ("20", b"PROGRA~1/x".to_vec(), 0, "8.3 short-name alias"),
        ("20", b"GIT~1".to_vec(), 0, "8.3 short-name alias"),
        ("16", vec![b'a'; 256], 0, "longer than 255 bytes"),
    ];
    for (i, (case, name, attribs, expect)) in names.iter().enumerate() {
        add(out, format!("name-{case}-{i:02}.cab"), case, expect, one(name, *attribs));
    }
    // 14, 15: collisions and duplicates are errors for the second entry, never an overwrite.
    add(
        out,
        "collide-case-14.cab".into(),
        "14",
        "collides with",
        raw_cab(&[(b"Readme.txt".to_vec(), 0, b"one".to_vec()), (b"README.TXT".to_vec(), 0, b"two".to_vec())], |_| {}),
    );
    add(
        out,
        "collide-dup-15.cab".into(),
        "15",
        "collides with",
        raw_cab(&[(b"same.txt".to_vec(), 0, b"one".to_vec()), (b"same.txt".to_vec(), 0, b"two".to_vec())], |_| {}),
    );
    // 16: 255 bytes is legal.
    let long = vec![b'b'; 255];
    add(out, "name-255-16.cab".into(), "16", "ok", raw_cab(&[(long, 0, b"x".to_vec())], |_| {}));
    // 2.3 structure.
    let base = raw_cab(&[(b"a.txt".to_vec(), 0, b"aaaa".to_vec())], |_| {});
    add(out, "nofiles-31.cab".into(), "31", "ok", raw_cab(&[], |_| {}));
    add(
        out,
        "folderindex-32.cab".into(),
        "32",
        "names folder 7 which does not exist",
        raw_cab(&[(b"a.txt".to_vec(), 0, b"aaaa".to_vec())], |b| b[36 + 8 + 8] = 7),
    );
    add(
        out,
        "continued-32.cab".into(),
        "32",
        "starts in a previous cabinet",
        raw_cab(&[(b"a.txt".to_vec(), 0, b"aaaa".to_vec())], |b| {
            b[36 + 8 + 8] = 0xFD;
            b[36 + 8 + 9] = 0xFF;
        }),
    );
    for cut in [10usize, 36, 40, 50, 60] {
        let mut t = base.clone();
        t.truncate(cut);
        add(out, format!("truncated-{cut}-33.cab"), "33", "truncated", t);
    }
    add(
        out,
        "beyond-36.cab".into(),
        "36",
        "folder data ends at byte 4, before the file's end",
        raw_cab(&[(b"a.txt".to_vec(), 0, b"aaaa".to_vec())], |b| {
            b[36 + 8..36 + 8 + 4].copy_from_slice(&0x7FFF_8000u32.to_le_bytes());
        }),
    );
    add(
        out,
        "checksum-42.cab".into(),
        "42",
        "checksum mismatch",
        raw_cab(&[(b"a.txt".to_vec(), 0, b"aaaa".to_vec())], |b| {
            let n = b.len();
            b[n - 1] ^= 0xFF;
        }),
    );
    // 40: amplification: many entries over one small folder.
    let amp = raw_cab(&(0..2000).map(|i| (format!("f{i}").into_bytes(), 0u16, Vec::new())).collect::<Vec<_>>(), |b| {
        // every file claims 0x7FFF8000 bytes at offset 0
        let mut p = 44usize;
        for _ in 0..2000 {
            b[p..p + 4].copy_from_slice(&0x7FFF_8000u32.to_le_bytes());
            let name_end = b[p + 16..].iter().position(|&c| c == 0).unwrap_or(0);
            p += 16 + name_end + 1;
        }
    });
    add(out, "amplify-40.cab".into(), "40", "output would exceed", amp);
    // 29: failure midway: entry 2 of 3 corrupt (its block's checksum), the others complete.
    let mid = raw_cab(
        &[
            (b"one.txt".to_vec(), 0, vec![b'1'; 40000]),
            (b"two.txt".to_vec(), 0, vec![b'2'; 40000]),
            (b"three.txt".to_vec(), 0, vec![b'3'; 10]),
        ],
        |b| {
            let n = b.len();
            b[n - 200] ^= 0xFF;
        },
    );
    add(out, "midway-29.cab".into(), "29", "checksum mismatch", mid);
    // 21, 22, 54: MSI tables.
    let msi = |dirs: Vec<(String, Option<String>, String)>, file_name: &str, cabinet: &str| -> Result<Vec<u8>> {
        let files = vec![PackageFile {
            key: "F1".into(),
            component: "C1".into(),
            file_name: file_name.into(),
            data: b"payload".to_vec(),
            datetime: (2010, 1, 25, 6, 27, 0),
            attributes: 0,
            version: None,
            language: None,
            sequence: 1,
        }];
        let cab = write_cab(
            &[vec![CabInput { name: "F1".into(), data: b"payload".to_vec(), datetime: (2010, 1, 25, 6, 27, 0) }]],
            CabCompression::MsZip,
        )?;
        let spec = PackageSpec {
            summary: SummarySpec {
                title: "Installation Database".into(),
                subject: "hostile".into(),
                author: "hotfixkit".into(),
                comments: "hostile fixture".into(),
                arch: "Intel".into(),
                language: 1033,
                package_code: "{11111111-2222-4333-8444-555555555555}".into(),
                word_count: 2,
                page_count: 200,
                creating_application: "hotfixkit xtask".into(),
                created: 1_262_304_000,
            },
            properties: vec![("ProductCode".into(), "{11111111-2222-4333-8444-555555555556}".into())],
            directories: dirs,
            components: vec![("C1".into(), "{11111111-2222-4333-8444-555555555557}".into(), "D1".into())],
            files,
            media: vec![(1, 1, cabinet.into())],
            streams: vec![("c.cab".into(), cab)],
        };
        Ok(write_database(&spec.database())?)
    };
    let root = |dd: &str| {
        vec![
            ("TARGETDIR".to_string(), None, "SourceDir".to_string()),
            ("D1".to_string(), Some("TARGETDIR".to_string()), dd.to_string()),
        ]
    };
    for (i, dd) in ["..", "a|..", "tgt:..", "x\\..\\..", "C:\\x", "a:b:c"].iter().enumerate() {
        add(
            out,
            format!("defaultdir-21-{i}.msi"),
            "21",
            if *dd == "a:b:c" { "not allowed in Windows names" } else { "unsafe" },
            msi(root(dd), "f.txt", "#c.cab")?,
        );
    }
    for (i, fname) in ["EVIL~1.DLL|..\\..\\..\\Windows\\evil.dll", "x|C:\\evil"].iter().enumerate() {
        add(out, format!("filename-22-{i}.msi"), "22", "unsafe", msi(root("App"), fname, "#c.cab")?);
    }
    for (i, cab) in ["#Missing", "..\\..\\secret.cab", "/etc/passwd"].iter().enumerate() {
        add(out, format!("media-54-{i}.msi"), "54", "not available", msi(root("App"), "f.txt", cab)?);
    }
    let cyc = vec![
        ("TARGETDIR".to_string(), None, "SourceDir".to_string()),
        ("D1".to_string(), Some("D2".to_string()), "A".to_string()),
        ("D2".to_string(), Some("D1".to_string()), "B".to_string()),
    ];
    add(out, "dircycle-53.msi".into(), "53", "ok", msi(cyc, "f.txt", "#c.cab")?);
    // 34: reserve areas at and above their maxima.
    let with_reserve = |cb_header: u16| {
        raw_cab(&[(b"r.txt".to_vec(), 0, b"reserve".to_vec())], move |b| {
            // Insert cbCFHeader/cbCFFolder/cbCFData and the header reserve after CFHEADER.
            let mut ins = Vec::new();
            ins.extend_from_slice(&cb_header.to_le_bytes());
            ins.push(0);
            ins.push(0);
            ins.extend(std::iter::repeat_n(0u8, usize::from(cb_header)));
            let shift = ins.len() as u32;
            b.splice(36..36, ins);
            b[30] |= 4;
            let coff = u32::from_le_bytes([b[16], b[17], b[18], b[19]]) + shift;
            b[16..20].copy_from_slice(&coff.to_le_bytes());
            let f = 36 + shift as usize;
            let data = u32::from_le_bytes([b[f], b[f + 1], b[f + 2], b[f + 3]]) + shift;
            b[f..f + 4].copy_from_slice(&data.to_le_bytes());
            let total = b.len() as u32;
            b[8..12].copy_from_slice(&total.to_le_bytes());
        })
    };
    add(out, "reserve-60000-34.cab".into(), "34", "ok", with_reserve(60000));
    add(out, "reserve-60001-34.cab".into(), "34", "exceeds the 60,000 allowed", with_reserve(60001));
    // 35: a block declaring more than 32 KiB, and a block running past the file.
    add(
        out,
        "uncomp-32769-35.cab".into(),
        "35",
        "checksum mismatch",
        raw_cab(&[(b"a.txt".to_vec(), 0, b"aaaa".to_vec())], |b| {
            let n = b.len();
            b[n - 4 - 2..n - 4].copy_from_slice(&32769u16.to_le_bytes());
        }),
    );
    add(
        out,
        "uncomp-32769-nocsum-35.cab".into(),
        "35",
        "at most 32768",
        raw_cab(&[(b"a.txt".to_vec(), 0, b"aaaa".to_vec())], |b| {
            let n = b.len();
            b[n - 12..n - 8].fill(0);
            b[n - 6..n - 4].copy_from_slice(&32769u16.to_le_bytes());
        }),
    );
    add(
        out,
        "cbdata-past-end-35.cab".into(),
        "35",
        "truncated",
        raw_cab(&[(b"a.txt".to_vec(), 0, b"aaaa".to_vec())], |b| {
            let n = b.len();
            b[n - 8..n - 6].copy_from_slice(&60000u16.to_le_bytes());
        }),
    );
    // 44: MSZIP without its CK signature; 46: Quantum with an impossible window.
    add(
        out,
        "mszip-no-ck-44.cab".into(),
        "44",
        "CK signature",
        raw_cab(&[(b"a.txt".to_vec(), 0, b"aaaa".to_vec())], |b| {
            b[36 + 6] = 1; // typeCompress = MSZIP over stored data
            let n = b.len();
            b[n - 12..n - 8].fill(0);
        }),
    );
    add(
        out,
        "quantum-window-46.cab".into(),
        "46",
        "Quantum window of 25 bits",
        raw_cab(&[(b"a.txt".to_vec(), 0, b"aaaa".to_vec())], |b| {
            b[36 + 6..36 + 8].copy_from_slice(&(2u16 | (25 << 8)).to_le_bytes());
        }),
    );
    // 47: a stored block whose sizes disagree.
    add(
        out,
        "stored-size-47.cab".into(),
        "47",
        "stored block holds",
        raw_cab(&[(b"a.txt".to_vec(), 0, b"aaaa".to_vec())], |b| {
            let n = b.len();
            b[n - 12..n - 8].fill(0);
            b[n - 6..n - 4].copy_from_slice(&3u16.to_le_bytes());
        }),
    );
    // 39: a set whose next cabinet is itself, and one whose next name climbs out.
    let next_named = |name: &[u8]| {
        let name = name.to_vec();
        raw_cab(&[(b"a.txt".to_vec(), 0, b"aaaa".to_vec())], move |b| {
            let mut ins = name.clone();
            ins.push(0);
            ins.extend_from_slice(b"Disk\0");
            let shift = ins.len() as u32;
            b.splice(36..36, ins);
            b[30] |= 2;
            let coff = u32::from_le_bytes([b[16], b[17], b[18], b[19]]) + shift;
            b[16..20].copy_from_slice(&coff.to_le_bytes());
            let f = 36 + shift as usize;
            let data = u32::from_le_bytes([b[f], b[f + 1], b[f + 2], b[f + 3]]) + shift;
            b[f..f + 4].copy_from_slice(&data.to_le_bytes());
        })
    };
    add(out, "set-self-39.cab".into(), "39", "ok", next_named(b"set-self-39.cab"));
    add(out, "set-climb-39.cab".into(), "39", "ok", next_named(b"..\\..\\secret.cab"));
    // 50: compound files with impossible headers.
    let mut cfb = write_database(
        &PackageSpec {
            summary: SummarySpec {
                title: "t".into(),
                subject: "s".into(),
                author: "a".into(),
                comments: "c".into(),
                arch: "Intel".into(),
                language: 1033,
                package_code: "{11111111-2222-4333-8444-555555555555}".into(),
                word_count: 2,
                page_count: 200,
                creating_application: "x".into(),
                created: 1_262_304_000,
            },
            properties: Vec::new(),
            directories: Vec::new(),
            components: Vec::new(),
            files: Vec::new(),
            media: Vec::new(),
            streams: Vec::new(),
        }
        .database(),
    )?;
    let good = cfb.clone();
    cfb[30] = 31; // sector shift 31
    add(out, "cfb-shift-50.msi".into(), "50", "not a valid compound file", cfb);
    let mut c2 = good.clone();
    c2[44..48].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes()); // num FAT sectors
    add(out, "cfb-fatcount-50.msi".into(), "50", "not a valid compound file", c2);
    let mut c3 = good.clone();
    c3[48..52].copy_from_slice(&0xFFFF_FFFDu32.to_le_bytes()); // first directory sector = FATSECT
    add(out, "cfb-dirsector-50.msi".into(), "50", "not a valid compound file", c3);
    let mut c4 = good;
    c4.truncate(1024);
    add(out, "cfb-truncated-50.msi".into(), "50", "error", c4);
    // PE version resources (checked with `info`): loops, zero lengths, embedded NULs.
    let pe = |strings: Vec<(String, String)>| {
        write_pe(&PeSpec { machine: 0x14c, version: (1, 2, 3, 4), strings, size: 2048, seed: "h".into(), dll: true })
    };
    let find = |d: &[u8], needle: &str| -> Option<usize> {
        let n: Vec<u8> = needle.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        d.windows(n.len()).position(|w| w == n.as_slice())
    };
    let base = pe(vec![("FileVersion".into(), "1.2.3.4".into())])?;
    let rsrc = find(&base, "VS_VERSION_INFO").map(|p| p - 6 - 0x58).unwrap_or(0);
    let mut a = base.clone();
    // Root entry's subdirectory offset points back at the root.
    a[rsrc + 0x14..rsrc + 0x18].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    add(out, "pe-loop-a.dll".into(), "PE-a", "ok", a);
    let mut b = base.clone();
    if let Some(k) = find(&b, "StringFileInfo") {
        b[k - 6..k - 4].copy_from_slice(&0u16.to_le_bytes());
    }
    add(out, "pe-zero-length-b.dll".into(), "PE-b", "version resource", b);
    let mut c = base.clone();
    if let Some(k) = find(&c, "StringFileInfo") {
        c[k - 6..k - 4].copy_from_slice(&0xFFFFu16.to_le_bytes());
    }
    add(out, "pe-long-child-c.dll".into(), "PE-c", "version resource", c);
    add(out, "pe-embedded-nul-d.dll".into(), "PE-d", "ok", pe(vec![("CompanyName".into(), "Good\0Evil".into())])?);
    more(out, &mut add, &msi)?;
    out.insert("hostile/cases.tsv".into(), cases.into_bytes());
    Ok(())
}

/// One 128-byte compound-file directory entry.
fn dir_entry(name: &str, kind: u8, left: u32, right: u32, child: u32, start: u32, size: u64) -> [u8; 128] {
    let mut e = [0u8; 128];
    let units: Vec<u16> = name.encode_utf16().chain(std::iter::once(0)).take(32).collect();
    for (i, u) in units.iter().enumerate() {
        e[i * 2..i * 2 + 2].copy_from_slice(&u.to_le_bytes());
    }
    e[64..66].copy_from_slice(&((units.len() * 2) as u16).to_le_bytes());
    e[66] = kind;
    e[67] = 1; // black
    e[68..72].copy_from_slice(&left.to_le_bytes());
    e[72..76].copy_from_slice(&right.to_le_bytes());
    e[76..80].copy_from_slice(&child.to_le_bytes());
    e[116..120].copy_from_slice(&start.to_le_bytes());
    e[120..128].copy_from_slice(&size.to_le_bytes());
    e
}

const NOSTREAM: u32 = 0xFFFF_FFFF;
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;

/// A version-4 compound file (4096-byte sectors) holding only `entries` (no stream data):
/// FAT sectors first, then the directory.
pub fn cfb_v4(entries: &[[u8; 128]]) -> Vec<u8> {
    const SS: usize = 4096;
    let dir_sectors = entries.len().div_ceil(SS / 128).max(1);
    let mut fat_sectors = 1;
    while fat_sectors * (SS / 4) < fat_sectors + dir_sectors {
        fat_sectors += 1;
    }
    assert!(fat_sectors <= 109, "too many FAT sectors for the header DIFAT");
    let mut out = vec![0u8; SS];
    out[0..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    out[24..26].copy_from_slice(&0x3Eu16.to_le_bytes());
    out[26..28].copy_from_slice(&4u16.to_le_bytes());
    out[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
    out[30..32].copy_from_slice(&12u16.to_le_bytes());
    out[32..34].copy_from_slice(&6u16.to_le_bytes());
    out[40..44].copy_from_slice(&(dir_sectors as u32).to_le_bytes());
    out[44..48].copy_from_slice(&(fat_sectors as u32).to_le_bytes());
    out[48..52].copy_from_slice(&(fat_sectors as u32).to_le_bytes());
    out[56..60].copy_from_slice(&4096u32.to_le_bytes());
    out[60..64].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
    out[68..72].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
    for i in 0..109 {
        let v = if i < fat_sectors { i as u32 } else { NOSTREAM };
        out[76 + i * 4..80 + i * 4].copy_from_slice(&v.to_le_bytes());
    }
    let mut fat = vec![NOSTREAM; fat_sectors * SS / 4];
    fat[..fat_sectors].fill(0xFFFF_FFFD);
    for d in 0..dir_sectors {
        let s = fat_sectors + d;
        fat[s] = if d + 1 == dir_sectors { ENDOFCHAIN } else { (s + 1) as u32 };
    }
    out.extend(fat.iter().flat_map(|v| v.to_le_bytes()));
    let mut dir: Vec<u8> = entries.iter().flatten().copied().collect();
    dir.resize(dir_sectors * SS, 0);
    // Unused directory slots are empty entries with NOSTREAM links.
    for slot in entries.len()..dir_sectors * (SS / 128) {
        let o = slot * 128;
        dir[o + 68..o + 80].fill(0xFF);
    }
    out.extend(dir);
    out
}

type Add<'a> = dyn FnMut(&mut BTreeMap<String, Vec<u8>>, String, &str, &str, Vec<u8>) + 'a;
type MsiFn<'a> = dyn Fn(Vec<(String, Option<String>, String)>, &str, &str) -> Result<Vec<u8>> + 'a;

/// A cabinet with one folder of type `comp` made of the given (data, cbUncomp) blocks and
/// the given (name, offset, size) files.
fn block_cab(comp: u16, files: &[(&[u8], u32, u32)], blocks: &[(Vec<u8>, u16)]) -> Vec<u8> {
    let files_len: usize = files.iter().map(|f| 16 + f.0.len() + 1).sum();
    let data_off = 36 + 8 + files_len;
    let total = data_off + blocks.iter().map(|b| 8 + b.0.len()).sum::<usize>();
    let mut out = cfheader(total, 44, 1, files.len() as u16);
    out.extend_from_slice(&(data_off as u32).to_le_bytes());
    out.extend_from_slice(&(blocks.len() as u16).to_le_bytes());
    out.extend_from_slice(&comp.to_le_bytes());
    for (name, off, size) in files {
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0x3c39u16.to_le_bytes());
        out.extend_from_slice(&0x3364u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name);
        out.push(0);
    }
    for (b, uncomp) in blocks {
        out.extend_from_slice(&0u32.to_le_bytes()); // no checksum
        out.extend_from_slice(&(b.len() as u16).to_le_bytes());
        out.extend_from_slice(&uncomp.to_le_bytes());
        out.extend_from_slice(b);
    }
    out
}

/// LZX bits: 16-bit little-endian words, most significant bit first.
#[derive(Default)]
struct LzxBits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl LzxBits {
    fn put(&mut self, value: u32, bits: u32) {
        for i in (0..bits).rev() {
            self.acc = (self.acc << 1) | ((value >> i) & 1);
            self.n += 1;
            if self.n == 16 {
                self.out.extend_from_slice(&(self.acc as u16).to_le_bytes());
                self.acc = 0;
                self.n = 0;
            }
        }
    }
    fn align(&mut self) {
        if self.n > 0 {
            self.put(0, 16 - self.n);
        }
    }
}

/// An LZX stream (no E8 translation) of one uncompressed block of `declared` bytes
/// carrying `data`, padded to an even length as the format requires.
fn lzx_uncompressed(declared: u32, data: &[u8], block_type: u32) -> Vec<u8> {
    let mut b = LzxBits::default();
    b.put(0, 1);
    b.put(block_type, 3);
    b.put(declared >> 8, 16);
    b.put(declared & 0xFF, 8);
    b.align();
    let mut out = b.out;
    for _ in 0..3 {
        out.extend_from_slice(&1u32.to_le_bytes());
    }
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// Offsets of the directory entries of a version-3 (512-byte sector) compound file.
fn cfb3_entries(b: &[u8]) -> Vec<usize> {
    let u32at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let fat = |n: u32| -> u32 {
        let fs = u32at(76 + (n as usize / 128) * 4);
        u32at(512 * (fs as usize + 1) + (n as usize % 128) * 4)
    };
    let mut out = Vec::new();
    let mut s = u32at(48);
    let mut guard = 0;
    while s < 0xFFFF_FFFA && guard < 10_000 {
        for i in 0..4 {
            out.push(512 * (s as usize + 1) + i * 128);
        }
        s = fat(s);
        guard += 1;
    }
    out
}

fn entry_name(b: &[u8], e: usize) -> Vec<u16> {
    let len = usize::from(u16::from_le_bytes([b[e + 64], b[e + 65]])).min(64);
    (0..len / 2).map(|i| u16::from_le_bytes([b[e + i * 2], b[e + i * 2 + 1]])).take_while(|&u| u != 0).collect()
}

/// Give the directory entry now called `from` the raw UTF-16 name `to` and name length.
fn rename_entry(b: &mut [u8], from: &str, to: &[u16], name_len: u16) {
    let want: Vec<u16> = from.encode_utf16().collect();
    let e = cfb3_entries(b).into_iter().find(|&e| entry_name(b, e) == want).expect("entry to rename");
    b[e..e + 64].fill(0);
    for (i, u) in to.iter().take(32).enumerate() {
        b[e + i * 2..e + i * 2 + 2].copy_from_slice(&u.to_le_bytes());
    }
    b[e + 64..e + 66].copy_from_slice(&name_len.to_le_bytes());
}

/// Re-write the stream at `path` (a compound-file path) of `bytes`.
fn replace_stream(bytes: &[u8], path: &str, data: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut c = cfb::CompoundFile::open(std::io::Cursor::new(bytes.to_vec()))?;
    c.create_stream(path)?.write_all(data)?;
    c.flush()?;
    let mut v = to_v3(&c.into_inner().into_inner())?;
    clear_cfb_root_times(&mut v);
    Ok(v)
}

fn read_stream(bytes: &[u8], path: &str) -> Result<Vec<u8>> {
    let mut c = cfb::CompoundFile::open(std::io::Cursor::new(bytes.to_vec()))?;
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut c.open_stream(path)?, &mut v)?;
    Ok(v)
}

fn table_stream(name: &str) -> String {
    format!("/{}", hotfixkit::msi::encode_name(name, true))
}

/// Cases 17-20, 23-28, 37, 38, 41, 43, 45, 48, 49, 51, 52.
fn more(out: &mut BTreeMap<String, Vec<u8>>, add: &mut Add<'_>, msi: &MsiFn<'_>) -> Result<()> {
    let root = |dd: &str| {
        vec![
            ("TARGETDIR".to_string(), None, "SourceDir".to_string()),
            ("D1".to_string(), Some("TARGETDIR".to_string()), dd.to_string()),
        ]
    };
    let good = msi(root("App"), "f.txt", "#c.cab")?;
    // 17: an embedded NUL in a name is refused, never truncated.
    add(out, "nul-filename-17.msi".into(), "17", "control character U+0000", msi(root("App"), "a\0b.txt", "#c.cab")?);
    add(out, "nul-defaultdir-17.msi".into(), "17", "control character U+0000", msi(root("App\0x"), "f.txt", "#c.cab")?);
    // 18, 24: compound-file names: an unpaired surrogate, separators, bad lengths.
    let c_cab = hotfixkit::msi::encode_name("c.cab", false);
    let mut b = good.clone();
    let mut units: Vec<u16> = c_cab.encode_utf16().collect();
    units[0] = 0xD800;
    let n = ((units.len() + 1) * 2) as u16;
    rename_entry(&mut b, &c_cab, &units, n);
    add(out, "cfb-surrogate-18.msi".into(), "18", "not a valid compound file", b);
    for (i, (name, len)) in
        [("a/b", 8u16), ("x:y!", 10), ("abcdefghij", 66), ("abc", 7), ("abcdefghijklmnopqrstuvwxyzABCDEF", 64)]
            .iter()
            .enumerate()
    {
        let mut b = good.clone();
        let units: Vec<u16> = name.encode_utf16().collect();
        rename_entry(&mut b, &c_cab, &units, *len);
        add(out, format!("cfb-name-24-{i}.msi"), "24", "not a valid compound file", b);
    }
    // 19: look-alike separators and bidi controls are ordinary characters.
    for (i, name) in ["a\u{2215}..\u{2215}x", "a\u{FF0F}..\u{FF0F}x", "\u{202E}txt.exe"].iter().enumerate() {
        add(
            out,
            format!("lookalike-19-{i}.cab"),
            "19",
            "ok",
            raw_cab(&[(name.as_bytes().to_vec(), 0x80, b"x".to_vec())], |_| {}),
        );
    }
    // 23: stream names that must never become paths when streams are written out.
    for (i, name) in ["../x", "a/b", "\u{5}Summary", ".."].iter().enumerate() {
        let mut b = replace_stream(&good, "/ZZZZ", b"stream")?;
        let units: Vec<u16> = name.encode_utf16().collect();
        rename_entry(&mut b, "ZZZZ", &units, ((units.len() + 1) * 2) as u16);
        add(out, format!("stream-name-23-{i}.msi"), "23", if i == 2 { "ok" } else { "not a valid compound file" }, b);
    }
    // 25, 26: entries aimed at the links the test plants in the target.
    add(out, "link-dir-25.cab".into(), "25", "symbolic link", one(b"link/evil.txt", 0));
    add(
        out,
        "link-file-26.cab".into(),
        "26",
        "ok",
        raw_cab(&[(b"plain.c".to_vec(), 0, b"replaced\n".to_vec())], |_| {}),
    );
    // 27: many entries in one folder `d` (the race test swaps d for a link meanwhile).
    let race: Vec<(Vec<u8>, u16, Vec<u8>)> =
        (0..1000).map(|i| (format!("d\\f{i:04}").into_bytes(), 0, vec![b'r'; 16])).collect();
    add(out, "race-27.cab".into(), "27", "ok", raw_cab(&race, |_| {}));
    // 37: a folder with no data blocks holding an empty file, beside a normal folder.
    add(out, "empty-folder-37.cab".into(), "37", "ok", empty_folder_cab());
    // 38: coffFiles pointing past the real file table (the "hidden files" reading).
    add(
        out,
        "hidden-files-38.cab".into(),
        "38",
        "ok",
        raw_cab(&[(b"a.txt".to_vec(), 0, b"aaaa".to_vec())], |b| {
            b[16..20].copy_from_slice(&60u32.to_le_bytes());
        }),
    );
    // 41: one folder, files listed in reverse offset order: decoded once, not per file.
    let rev: Vec<CabInput> = (0..1000)
        .map(|i| CabInput {
            name: format!("r{i:04}"),
            data: vec![(i % 251) as u8; 32768],
            datetime: (2010, 1, 25, 6, 27, 0),
        })
        .collect();
    add(out, "reverse-order-41.cab".into(), "41", "ok", reverse_files(&write_cab(&[rev], CabCompression::MsZip)?));
    // 43: a cabinet behind 160 KiB (and 40 KiB) of junk full of false MSCF signatures.
    for (i, junk_len) in [160 * 1024usize, 40 * 1024].iter().enumerate() {
        let mut junk = Vec::new();
        while junk.len() < *junk_len {
            junk.extend_from_slice(b"MSCF\0\0\0\0\xff\xff\xff\x7f\0\0\0\0");
            junk.extend_from_slice(&[0x2c, 0, 0, 0, 0, 0, 0, 0, 3, 1, 1, 0, 0xff, 0xff, 0, 0]);
        }
        junk.extend_from_slice(&raw_cab(&[(b"sfx.txt".to_vec(), 0, b"found\n".to_vec())], |_| {}));
        add(out, format!("sfx-43-{i}.exe"), "43", "ok", junk);
    }
    // 43: near-valid headers (right version, a size that fits) that do not parse: the
    // search gives up after 256 of them instead of parsing every one.
    let mut near = Vec::new();
    for _ in 0..300 {
        let mut h = vec![0u8; 64];
        h[0..4].copy_from_slice(b"MSCF");
        h[8..12].copy_from_slice(&64u32.to_le_bytes());
        h[16..20].copy_from_slice(&44u32.to_le_bytes());
        h[24] = 3;
        h[25] = 1;
        h[26] = 1; // one folder
        h[28] = 1; // one file, with an empty name

        near.extend_from_slice(&h);
    }
    near.extend_from_slice(&raw_cab(&[(b"sfx.txt".to_vec(), 0, b"found\n".to_vec())], |_| {}));
    add(out, "sfx-near-43.exe".into(), "43", "gave up looking for a cabinet after 256", near);
    // 45: LZX windows out of range, an odd uncompressed block, bad block type, overrun.
    for w in [14u16, 22] {
        let data = lzx_uncompressed(5, b"hello", 3);
        add(
            out,
            format!("lzx-window-{w}-45.cab"),
            "45",
            &format!("LZX window of {w} bits"),
            block_cab(3 | (w << 8), &[(b"a.txt", 0, 5)], &[(data, 5)]),
        );
    }
    let odd = lzx_uncompressed(5, b"hello", 3);
    add(out, "lzx-odd-45.cab".into(), "45", "ok", block_cab(3 | (16 << 8), &[(b"odd.txt", 0, 5)], &[(odd, 5)]));
    let bad = lzx_uncompressed(5, b"hello", 7);
    add(
        out,
        "lzx-blocktype-45.cab".into(),
        "45",
        "block type 7 is invalid",
        block_cab(3 | (16 << 8), &[(b"a.txt", 0, 5)], &[(bad, 5)]),
    );
    let over = lzx_uncompressed(40000, &[b'o'; 200], 3);
    add(out, "lzx-overrun-45.cab".into(), "45", "ok", block_cab(3 | (16 << 8), &[(b"a.txt", 0, 200)], &[(over, 200)]));
    // 48: cycles in the compound file's chains and directory tree.
    cfb_cycles(out, add, &good)?;
    // 49: degenerate deep trees.
    let nest: Vec<[u8; 128]> = (0..10_000u32)
        .map(|i| {
            let kind = if i == 0 { 5 } else { 1 };
            let child = if i + 1 < 10_000 { i + 1 } else { NOSTREAM };
            dir_entry(&format!("s{i}"), kind, NOSTREAM, NOSTREAM, child, ENDOFCHAIN, 0)
        })
        .collect();
    add(out, "cfb-nest-49.msi".into(), "49", "storages nested more than 64 deep", cfb_v4(&nest));
    // A sibling chain one entry past the 16,384-entry limit (the case's 100,000 entries are
    // refused by the same check; this keeps the fixture near 2 MB instead of 12.8 MB).
    const CHAIN: u32 = 16_385;
    let chain: Vec<[u8; 128]> = (0..CHAIN)
        .map(|i| {
            if i == 0 {
                dir_entry("Root Entry", 5, NOSTREAM, NOSTREAM, 1, ENDOFCHAIN, 0)
            } else {
                let left = if i + 1 < CHAIN { i + 1 } else { NOSTREAM };
                dir_entry(&format!("e{:06}", CHAIN - i), 2, left, NOSTREAM, NOSTREAM, ENDOFCHAIN, 0)
            }
        })
        .collect();
    add(out, "cfb-chain-49.msi".into(), "49", "more than 16384 directory entries", cfb_v4(&chain));
    // 51: string pools.
    string_pools(out, add, &good)?;
    // 52: tables and summary information.
    tables(out, add, &good)?;
    Ok(())
}

/// Two folders: folder 0 has no data blocks and holds an empty file; folder 1 one file.
fn empty_folder_cab() -> Vec<u8> {
    let files: [(&[u8], u16, u32, u32); 2] = [(b"empty.txt", 0, 0, 0), (b"full.txt", 1, 0, 4)];
    let files_len: usize = files.iter().map(|f| 16 + f.0.len() + 1).sum();
    let data_off = 36 + 16 + files_len;
    let total = data_off + 8 + 4;
    let mut out = cfheader(total, 52, 2, 2);
    out.extend_from_slice(&(data_off as u32).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(data_off as u32).to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    for (name, folder, off, size) in files {
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&folder.to_le_bytes());
        out.extend_from_slice(&0x3c39u16.to_le_bytes());
        out.extend_from_slice(&0x3364u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name);
        out.push(0);
    }
    out.extend_from_slice(&hotfixkit::testing::block_checksum(b"full", 4, 4).to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(b"full");
    out
}

/// The same cabinet with its CFFILE records in reverse order.
fn reverse_files(cab: &[u8]) -> Vec<u8> {
    let u16at = |o: usize| usize::from(u16::from_le_bytes([cab[o], cab[o + 1]]));
    let u32at = |o: usize| u32::from_le_bytes([cab[o], cab[o + 1], cab[o + 2], cab[o + 3]]) as usize;
    let start = u32at(16);
    let n = u16at(28);
    let mut recs = Vec::new();
    let mut p = start;
    for _ in 0..n {
        let end = p + 16 + cab[p + 16..].iter().position(|&c| c == 0).unwrap_or(0) + 1;
        recs.push(cab[p..end].to_vec());
        p = end;
    }
    let mut out = cab[..start].to_vec();
    out.extend(recs.iter().rev().flatten());
    out.extend_from_slice(&cab[p..]);
    out
}

fn cfb_cycles(out: &mut BTreeMap<String, Vec<u8>>, add: &mut Add<'_>, good: &[u8]) -> Result<()> {
    let u32at = |b: &[u8], o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let fat_off =
        |b: &[u8], n: u32| 512 * (u32at(b, 76 + (n as usize / 128) * 4) as usize + 1) + (n as usize % 128) * 4;
    // A large stream (the cabinet, made bigger than the 4096-byte mini-stream cutoff).
    let big = replace_stream(good, "/BIGSTREAM", &vec![0x5a; 20_000])?;
    let e = cfb3_entries(&big)
        .into_iter()
        .find(|&e| entry_name(&big, e) == "BIGSTREAM".encode_utf16().collect::<Vec<_>>())
        .expect("BIGSTREAM");
    let first = u32at(&big, e + 116);
    let second = u32at(&big, fat_off(&big, first));
    let mut b = big.clone();
    let o = fat_off(&b, second);
    b[o..o + 4].copy_from_slice(&first.to_le_bytes());
    add(out, "cfb-fat-cycle-48.msi".into(), "48", "duplicate sector", b);
    // The directory chain pointing at itself.
    let mut b = good.to_vec();
    let d = u32at(&b, 48);
    let o = fat_off(&b, d);
    b[o..o + 4].copy_from_slice(&d.to_le_bytes());
    add(out, "cfb-dir-cycle-48.msi".into(), "48", "not a valid compound file", b);
    // A mini-stream chain pointing at itself (the first small stream's first mini sector).
    let mut b = good.to_vec();
    let minifat = u32at(&b, 60) as usize;
    let small = cfb3_entries(&b)
        .into_iter()
        .find(|&e| b[e + 66] == 2 && (1..4096).contains(&u32at(&b, e + 120)) && u32at(&b, e + 120) > 64)
        .expect("a small stream");
    let ms = u32at(&b, small + 116) as usize;
    let o = 512 * (minifat + 1) + ms * 4;
    b[o..o + 4].copy_from_slice(&(ms as u32).to_le_bytes());
    add(out, "cfb-minifat-cycle-48.msi".into(), "48", "not available", b);
    // A DIFAT whose chain points at itself, with csectDif = 0xFFFFFFFF.
    let mut b = good.to_vec();
    let last = (b.len() / 512 - 1) as u32;
    b[68..72].copy_from_slice(&last.to_le_bytes());
    b[72..76].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    let o = 512 * (last as usize + 1) + 508;
    if o + 4 <= b.len() {
        b[o..o + 4].copy_from_slice(&last.to_le_bytes());
    }
    add(out, "cfb-difat-cycle-48.msi".into(), "48", "not a valid compound file", b);
    // The root's child pointing back at the root, and an entry whose left is itself.
    let mut b = good.to_vec();
    let root = cfb3_entries(&b)[0];
    b[root + 76..root + 80].copy_from_slice(&0u32.to_le_bytes());
    add(out, "cfb-tree-root-48.msi".into(), "48", "loop in tree", b);
    let mut b = good.to_vec();
    let child = u32at(&b, root + 76);
    let c = cfb3_entries(&b)[child as usize];
    b[c + 68..c + 72].copy_from_slice(&child.to_le_bytes());
    add(out, "cfb-tree-self-48.msi".into(), "48", "not a valid compound file", b);
    Ok(())
}

fn string_pools(out: &mut BTreeMap<String, Vec<u8>>, add: &mut Add<'_>, good: &[u8]) -> Result<()> {
    let pool_path = table_stream("_StringPool");
    let data_path = table_stream("_StringData");
    let pool = read_stream(good, &pool_path)?;
    let data = read_stream(good, &data_path)?;
    // Lengths that sum past the data.
    let mut p = pool.clone();
    p[4..6].copy_from_slice(&0xFFFFu16.to_le_bytes());
    add(out, "pool-sum-51.msi".into(), "51", "string pool declares", replace_stream(good, &pool_path, &p)?);
    // A refcount of 0 on every (used) string: still read.
    let mut p = pool.clone();
    for i in (1..p.len() / 4).map(|i| i * 4) {
        p[i + 2..i + 4].fill(0);
    }
    add(out, "pool-refcount-51.msi".into(), "51", "ok", replace_stream(good, &pool_path, &p)?);
    // Codepages 1200 (UTF-16, impossible for a pool) and an unknown one.
    for cp in [1200u32, 54321] {
        let mut p = pool.clone();
        let flags = u32::from_le_bytes([p[0], p[1], p[2], p[3]]) & 0x8000_0000;
        p[0..4].copy_from_slice(&(cp | flags).to_le_bytes());
        add(out, format!("pool-codepage-{cp}-51.msi"), "51", "Unknown codepage", replace_stream(good, &pool_path, &p)?);
    }
    // A string of 70,000 bytes (the long-string escape: a zero length, then the size in
    // the next entry), appended as a new, unused string.
    let mut p = pool.clone();
    p.extend_from_slice(&[0, 0, 1, 0]);
    p.extend_from_slice(&70_000u32.to_le_bytes());
    let mut d = data.clone();
    d.extend(std::iter::repeat_n(b'L', 70_000));
    let long = replace_stream(&replace_stream(good, &pool_path, &p)?, &data_path, &d)?;
    add(out, "pool-long-string-51.msi".into(), "51", "ok", long);
    // Invalid bytes for the declared codepage (1252 has holes at 0x81, 0x8D, 0x8F, 0x90, 0x9D).
    let mut p = pool.clone();
    p[0..4].copy_from_slice(
        &(1252u32 | (u32::from_le_bytes([pool[0], pool[1], pool[2], pool[3]]) & 0x8000_0000)).to_le_bytes(),
    );
    let mut d = data;
    if let Some(x) = d.windows(5).position(|w| w == b"f.txt") {
        d[x] = 0x81;
    }
    add(
        out,
        "pool-conversion-51.msi".into(),
        "51",
        "ok",
        replace_stream(&replace_stream(good, &pool_path, &p)?, &data_path, &d)?,
    );
    Ok(())
}

fn tables(out: &mut BTreeMap<String, Vec<u8>>, add: &mut Add<'_>, good: &[u8]) -> Result<()> {
    // A table stream whose length is not a multiple of its row size.
    let file_path = table_stream("File");
    let mut f = read_stream(good, &file_path)?;
    f.push(0);
    add(out, "table-length-52.msi".into(), "52", "not a whole number of", replace_stream(good, &file_path, &f)?);
    // A Property table of 65,537 rows: more than the `msi` crate takes, read by ours (up
    // to 2^20 rows per table; large packages with 32-bit sequence numbers exceed 65,536).
    let prop_path = table_stream("Property");
    let p = read_stream(good, &prop_path)?;
    let (k, v) = (p[0..2].to_vec(), p[2..4].to_vec());
    let mut rows = Vec::new();
    for _ in 0..65_537 {
        rows.extend_from_slice(&k);
    }
    for _ in 0..65_537 {
        rows.extend_from_slice(&v);
    }
    add(out, "table-rows-52.msi".into(), "52", "ok", replace_stream(good, &prop_path, &rows)?);
    // _Columns giving an integer column a size of 0 (Type 0x1500 | 0: integer, size 0).
    let cols_path = table_stream("_Columns");
    let mut c = read_stream(good, &cols_path)?;
    let n = c.len() / 8;
    // Column-major: Table (2n), Number (2n), Name (2n), Type (2n); the File table's
    // Attributes column is an i2. Set every integer column's size to 0.
    for i in 0..n {
        let o = 6 * n + i * 2;
        let t = u16::from_le_bytes([c[o], c[o + 1]]);
        if t & 0x0800 == 0 && t & 0xFF != 0 {
            c[o..o + 2].copy_from_slice(&(t & 0xFF00).to_le_bytes());
        }
    }
    add(out, "columns-size0-52.msi".into(), "52", "not a whole number of", replace_stream(good, &cols_path, &c)?);
    // SummaryInformation: a string property without its terminator, a FILETIME overflow.
    let si_path = "/\u{5}SummaryInformation";
    let si = read_stream(good, si_path)?;
    let mut s = si.clone();
    // VT_LPSTR (30) values: make the first one's length run past the section.
    if let Some(x) = s.windows(4).position(|w| w == [30, 0, 0, 0]) {
        s[x + 4..x + 8].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
    }
    add(out, "summary-string-52.msi".into(), "52", "runs past the end", replace_stream(good, si_path, &s)?);
    let mut s = si;
    if let Some(x) = s.windows(4).position(|w| w == [64, 0, 0, 0]) {
        s[x + 4..x + 12].fill(0xFF);
    }
    add(out, "summary-filetime-52.msi".into(), "52", "ok", replace_stream(good, si_path, &s)?);
    Ok(())
}
