//! Hostile inputs from ../shared/SECURITY-CASES.md, generated here (not copied from
//! peers): names that must never become paths outside the target, broken cabinet
//! structures, abusive MSI tables. `fixtures/hostile/cases.tsv` lists each file with the
//! case number and the text its error must contain ("ok" when it must extract).

use anyhow::Result;
use hotfixkit::build::*;
use std::collections::BTreeMap;

/// A raw stored cabinet: one folder, the given (name bytes, attribs, data) entries.
pub fn raw_cab(entries: &[(Vec<u8>, u16, Vec<u8>)], tweak: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let data: Vec<u8> = entries.iter().flat_map(|e| e.2.iter().copied()).collect();
    let files_len: usize = entries.iter().map(|e| 16 + e.0.len() + 1).sum();
    let data_off = 36 + 8 + files_len;
    let blocks: Vec<&[u8]> = if data.is_empty() { Vec::new() } else { data.chunks(32768).collect() };
    let total = data_off + blocks.iter().map(|b| 8 + b.len()).sum::<usize>();
    let mut out = Vec::new();
    out.extend_from_slice(b"MSCF");
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&44u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&[3, 1]);
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
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
        out.extend_from_slice(&hotfixkit::cab::block_checksum(b, cb, cb).to_le_bytes());
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
    out.insert("hostile/cases.tsv".into(), cases.into_bytes());
    Ok(())
}
