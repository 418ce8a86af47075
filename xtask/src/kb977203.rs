//! KB977203 fixture packages: for SP1 and SP2, a hotfix MSI whose administrative image
//! holds the 13 documented files (PE files of the documented machine, version and size;
//! MSI databases, a cabinet and a patch of the documented sizes; cabinet times equal to
//! the documented UTC times), and the small client MSI the patches apply to.

use crate::fixtures::payload;
use anyhow::{Context, Result};
use hotfixkit::manifest::{FileEntry, Manifest, Platform};
use hotfixkit::testing::*;
use std::collections::BTreeMap;

/// The client package's identity (both service packs' patches target it).
pub const CLIENT_PRODUCT: &str = "{8864FB91-94EE-4F16-A144-0D82A232049D}";
pub const CLIENT_UPGRADE: &str = "{252DA259-82CA-4177-B8D0-49C78937BA3E}";

/// The PatchPackage table a patch transform creates: the patch code and its Media row.
fn patch_package(code: &str, media: i32) -> TableOps {
    TableOps {
        name: "PatchPackage".into(),
        columns: vec![col("PatchId", "s38", true), col("Media_", "i2", false)],
        create: true,
        ops: vec![Op::Insert(vec![code.into(), media.into()])],
    }
}

fn dt(f: &FileEntry) -> (i32, u8, u8, u8, u8, u8) {
    let d: Vec<i32> = f.date.split('-').map(|x| x.parse().unwrap_or(1)).collect();
    let t: Vec<u8> = f.time.split(':').map(|x| x.parse().unwrap_or(0)).collect();
    (d[0], d[1] as u8, d[2] as u8, t[0], t[1], t.get(2).copied().unwrap_or(0))
}

fn machine(p: Platform) -> u16 {
    match p {
        Platform::X86 => 0x14c,
        Platform::X64 => 0x8664,
        Platform::Ia64 => 0x200,
        Platform::None => 0x14c,
    }
}

fn pe(name: &str, platform: Platform, version: &str, size: usize) -> Result<Vec<u8>> {
    let v: Vec<u16> = version.split('.').map(|x| x.parse().unwrap_or(0)).collect();
    let fv = format!("{}.{:02}.{}.{}", v[0], v[1], v[2], v[3]);
    Ok(write_pe(&PeSpec {
        machine: machine(platform),
        version: (v[0], v[1], v[2], v[3]),
        strings: vec![
            ("CompanyName".into(), "Microsoft Corporation".into()),
            ("FileDescription".into(), format!("{name} (hotfixkit fixture)")),
            ("FileVersion".into(), fv.clone()),
            ("OriginalFilename".into(), name.into()),
            ("ProductName".into(), "System Center Configuration Manager".into()),
            ("ProductVersion".into(), fv),
        ],
        size,
        seed: format!("{name}-{}", platform.as_str()),
        dll: name.to_lowercase().ends_with(".dll"),
    })?)
}

fn summary(subject: &str, code: &str, wc: i32) -> SummarySpec {
    SummarySpec {
        title: "Installation Database".into(),
        subject: subject.into(),
        author: "Microsoft Corporation (hotfixkit fixture)".into(),
        comments: format!("{subject}: fixture made by cargo xtask fixtures"),
        arch: "Intel".into(),
        language: 1033,
        package_code: code.into(),
        word_count: wc,
        page_count: 200,
        creating_application: "hotfixkit xtask".into(),
        created: 1_264_400_000,
    }
}

/// A valid installer database of exactly `size` bytes (padded with a stream).
fn sized_msi(name: &str, code: &str, size: u64) -> Result<Vec<u8>> {
    let spec = PackageSpec {
        summary: summary(name, code, 2),
        properties: vec![
            ("ProductName".into(), name.into()),
            ("ProductCode".into(), code.into()),
            ("ProductVersion".into(), "4.0.0.0".into()),
        ],
        directories: vec![("TARGETDIR".into(), None, "SourceDir".into())],
        components: Vec::new(),
        files: Vec::new(),
        media: vec![(1, 0, String::new())],
        streams: Vec::new(),
    };
    let base = write_database(&spec.database())?;
    Ok(pad_to(size, base.len() as u64, |n| {
        let mut s = spec.clone();
        s.streams = vec![("Padding".into(), vec![0u8; n])];
        write_database(&s.database())
    })?)
}

/// A valid stored cabinet of exactly `size` bytes.
fn sized_cab(size: u64, when: (i32, u8, u8, u8, u8, u8)) -> Result<Vec<u8>> {
    // Stored: every byte of payload is a byte of cabinet, plus 8 per 32 KiB block.
    for name_len in 8..40 {
        let name = format!("{:x<width$}.dat", "sup", width = name_len);
        let mk = |n: usize| {
            write_cab(
                &[vec![CabInput { name: name.clone(), data: payload("sup", n), datetime: when }]],
                CabCompression::None,
            )
        };
        let overhead = mk(0)?.len() as u64;
        let mut n = size.saturating_sub(overhead) as usize;
        for _ in 0..8 {
            let len = mk(n)?.len() as u64;
            if len == size {
                return Ok(mk(n)?);
            }
            if len > size {
                n = n.saturating_sub((len - size) as usize);
            } else {
                n += (size - len) as usize;
            }
        }
    }
    anyhow::bail!("no stored cabinet of exactly {size} bytes")
}

/// The client package: CcmExec.exe and CcmGenCert.dll of version `dll_version` (`size`
/// bytes); RTM is 4.0.6487.2000, each service pack's hotfix brings its own CcmGenCert.dll.
fn client_spec(dll_version: &str, size: usize, package_code: &str) -> Result<PackageSpec> {
    let when = (2009, 12, 1, 0, 0, 0);
    let files = vec![
        PackageFile {
            key: "ccmexec.exe".into(),
            component: "C_CcmExec".into(),
            file_name: "CCMEXEC.EXE|CcmExec.exe".into(),
            data: pe("CcmExec.exe", Platform::X86, "4.0.6487.2000", 9000)?,
            datetime: when,
            attributes: 0,
            version: Some("4.0.6487.2000".into()),
            language: Some("1033".into()),
            sequence: 1,
        },
        PackageFile {
            key: "ccmgencert.dll".into(),
            component: "C_CcmGenCert".into(),
            file_name: "CCMGENCE.DLL|CcmGenCert.dll".into(),
            data: pe("CcmGenCert.dll", Platform::X86, dll_version, size)?,
            datetime: if dll_version.ends_with(".2000") { when } else { (2010, 1, 25, 6, 27, 0) },
            attributes: 0,
            version: Some(dll_version.into()),
            language: Some("1033".into()),
            sequence: 2,
        },
    ];
    let cab = write_cab(
        &[files.iter().map(|f| CabInput { name: f.key.clone(), data: f.data.clone(), datetime: f.datetime }).collect()],
        CabCompression::MsZip,
    )?;
    Ok(PackageSpec {
        summary: summary("Configuration Manager Client (fixture)", package_code, 2),
        properties: vec![
            ("ALLUSERS".into(), "1".into()),
            ("Manufacturer".into(), "Microsoft Corporation".into()),
            ("ProductCode".into(), CLIENT_PRODUCT.into()),
            ("ProductLanguage".into(), "1033".into()),
            ("ProductName".into(), "Configuration Manager Client (fixture)".into()),
            ("ProductVersion".into(), "4.00.6487.2000".into()),
            ("UpgradeCode".into(), CLIENT_UPGRADE.into()),
        ],
        directories: vec![
            ("TARGETDIR".into(), None, "SourceDir".into()),
            ("SystemFolder".into(), Some("TARGETDIR".into()), ".:System32".into()),
            ("CCMDIR".into(), Some("SystemFolder".into()), "CCM".into()),
        ],
        // One component per file, each file its key path, as a patch needs them.
        components: vec![
            ("C_CcmExec".into(), "{A9B3E4D2-6C1F-4B8A-9E2D-1F3C5B7A9D01}".into(), "CCMDIR".into()),
            ("C_CcmGenCert".into(), "{A9B3E4D2-6C1F-4B8A-9E2D-1F3C5B7A9D02}".into(), "CCMDIR".into()),
        ],
        files,
        media: vec![(1, 2, "#client.cab".into())],
        streams: vec![("client.cab".into(), cab)],
    })
}

/// A client package's bytes: the standard sequences with PatchFiles added (the
/// delta-carrying fixture patch needs the action in its target).
fn client_bytes(spec: &PackageSpec) -> Result<Vec<u8>> {
    let mut db = spec.database();
    for t in &mut db.tables {
        if t.name == "InstallExecuteSequence" || t.name == "AdminExecuteSequence" {
            t.rows.push(vec!["PatchFiles".into(), Cell::Null, 4090.into()]);
        }
    }
    Ok(write_database(&db)?)
}

/// The client MSI both patches apply to.
pub fn client_msi() -> Result<Vec<u8>> {
    client_bytes(&client_spec("4.0.6487.2000", 12000, "{0F2B9A52-1AF8-4E35-9D0C-4B7F1E22C001}")?)
}

/// The client package as service pack `sp`'s hotfix leaves it: CcmGenCert.dll of
/// `version` (the patch is built from the RTM package and this one).
pub fn client_hotfix_msi(sp: u32, version: &str) -> Result<Vec<u8>> {
    client_bytes(&client_spec(version, 14000, &format!("{{0F2B9A52-1AF8-4E35-9D0C-4B7F1E22C10{sp}}}"))?)
}

/// Add a root stream `Padding` of `n` zero bytes to a compound file.
fn with_padding(bytes: &[u8], n: usize) -> hotfixkit::Result<Vec<u8>> {
    let io = |e: std::io::Error| hotfixkit::Error::format(format!("padding: {e}"));
    let mut c = cfb::CompoundFile::open(std::io::Cursor::new(bytes.to_vec())).map_err(io)?;
    {
        let mut s = c.create_stream(format!("/{}", hotfixkit::msi::encode_name("Padding", false))).map_err(io)?;
        std::io::Write::write_all(&mut s, &vec![0u8; n]).map_err(io)?;
    }
    c.flush().map_err(io)?;
    let mut out = c.into_inner().into_inner();
    clear_cfb_root_times(&mut out);
    Ok(out)
}

/// The client patch of service pack `sp`, made by `build msp` from the RTM client and
/// the SP's client hotfix package, then padded with a `Padding` stream to the size the
/// KB documents for it.
fn client_msp(sp: u32, version: &str, size: u64, patch_code: &str) -> Result<Vec<u8>> {
    let work = std::env::temp_dir().join(format!("hotfixkit-fixtures-{}-sp{sp}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let rtm = work.join("client.msi");
    let hotfix = work.join(format!("client-sp{sp}.msi"));
    std::fs::write(&rtm, client_msi()?)?;
    std::fs::write(&hotfix, client_hotfix_msi(sp, version)?)?;
    let out = work.join("patch.msp");
    let mut req = hotfixkit::build::PatchRequest::new(vec![rtm], hotfixkit::build::Upgraded::Packages(vec![hotfix]));
    req.patch_code = Some(patch_code.into());
    req.transform_name = Some("KB977203".into());
    req.family = Some("KB977203".into());
    req.sequence = Some(version.into());
    req.metadata = hotfixkit::build::PatchMetadata {
        display_name: Some(format!("SCCM2007AC-SP{sp}-KB977203-x86")),
        description: Some("Hotfix KB977203: certificate friendly names with embedded NUL".into()),
        classification: Some("Hotfix".into()),
        manufacturer: Some("Microsoft Corporation".into()),
        allow_removal: true,
        more_info_url: Some("https://support.microsoft.com/kb/977203".into()),
        target_product_name: None,
        extra: Vec::new(),
    };
    let opts = hotfixkit::WriteOptions { overwrite: true, ..Default::default() };
    hotfixkit::build::build_msp(&req, &out, &opts, None)?;
    let bytes = std::fs::read(&out)?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(pad_to(size, bytes.len() as u64, |n| with_padding(&bytes, n))?)
}

/// Where each documented file goes in the hotfix's administrative image.
fn folder(f: &FileEntry) -> &'static str {
    let n = f.name.to_lowercase();
    if n.ends_with(".msp") || n.starts_with("ccmsetup") {
        return "CLIENT_I386";
    }
    match f.platform {
        Platform::X64 => "BIN_X64",
        Platform::Ia64 => "BIN_IA64",
        _ => "BIN_I386",
    }
}

/// The hotfix MSI of service pack `sp`.
pub fn hotfix_msi(sp: u32, m: &Manifest) -> Result<Vec<u8>> {
    let mut files = Vec::new();
    for (i, f) in m.files.iter().enumerate() {
        let size = f.size as usize;
        let lower = f.name.to_lowercase();
        let data = if let (Some(v), true) = (&f.version, f.platform != Platform::None) {
            pe(&f.name, f.platform, v, size)?
        } else if lower.ends_with(".msp") {
            let code = format!("{{B4E6C0F2-0977-4203-9000-00000000000{sp}}}");
            let v = m
                .files
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case("ccmcertfix.exe"))
                .and_then(|x| x.version.clone())
                .unwrap_or_default();
            client_msp(sp, &v, f.size, &code)?
        } else if lower.ends_with(".msi") {
            sized_msi(&f.name, &format!("{{C0DE0000-0977-4203-A000-{:04}{:08}}}", sp, i), f.size)?
        } else if lower.ends_with(".cab") {
            sized_cab(f.size, dt(f))?
        } else {
            payload(&f.name, size)
        };
        anyhow::ensure!(data.len() == size, "{}: made {} bytes, documented {}", f.name, data.len(), size);
        let key = format!("{}.{}", lower, f.platform.as_str());
        files.push(PackageFile {
            key,
            component: format!("C_{}", folder(f)),
            file_name: f.name.clone(),
            data,
            datetime: dt(f),
            attributes: 0,
            version: f.version.clone(),
            language: f.version.as_ref().map(|_| "1033".to_string()),
            sequence: i as i32 + 1,
        });
    }
    let cab = write_cab(
        &[files.iter().map(|f| CabInput { name: f.key.clone(), data: f.data.clone(), datetime: f.datetime }).collect()],
        CabCompression::MsZip,
    )?;
    let d = |k: &str, p: &str, dd: &str| (k.to_string(), Some(p.to_string()), dd.to_string());
    let version = if sp == 1 { "4.00.6221.1193" } else { "4.00.6487.2111" };
    let spec = PackageSpec {
        summary: summary(
            &format!("ConfigMgr 2007 SP{sp} Hotfix (KB977203)"),
            &format!("{{D1A0C0DE-0977-4203-B000-00000000000{sp}}}"),
            2,
        ),
        properties: vec![
            ("Manufacturer".into(), "Microsoft Corporation".into()),
            ("ProductCode".into(), format!("{{E0977203-0000-4000-8000-00000000000{sp}}}")),
            ("ProductLanguage".into(), "1033".into()),
            ("ProductName".into(), format!("ConfigMgr 2007 SP{sp} Hotfix (KB977203)")),
            ("ProductVersion".into(), version.into()),
        ],
        directories: vec![
            ("TARGETDIR".into(), None, "SourceDir".into()),
            d("HOTFIXDIR", "TARGETDIR", "KB977203"),
            d("BIN", "HOTFIXDIR", "bin"),
            d("BIN_I386", "BIN", "i386"),
            d("BIN_X64", "BIN", "x64"),
            d("BIN_IA64", "BIN", "ia64"),
            d("CLIENT", "HOTFIXDIR", "CLIENT|Client"),
            d("CLIENT_I386", "CLIENT", "i386"),
        ],
        components: ["BIN_I386", "BIN_X64", "BIN_IA64", "CLIENT_I386"]
            .iter()
            .enumerate()
            .map(|(i, f)| (format!("C_{f}"), format!("{{F0977203-0000-4000-8000-0000000000{sp}{i}}}"), f.to_string()))
            .collect(),
        files,
        media: vec![(1, m.files.len() as i32, "#kb977203.cab".into())],
        streams: vec![("kb977203.cab".into(), cab)],
    };
    Ok(write_database(&spec.database())?)
}

fn col(name: &'static str, kind: &'static str, key: bool) -> ColSpec {
    ColSpec { name, kind, key }
}

/// A transform's streams from rows given as cells (no binary cells).
fn streams(summary: &[(u32, Prop)], tables: &[TableOps]) -> Result<Vec<(String, Vec<u8>)>> {
    let recs: Vec<TableRecords> = tables.iter().map(TableOps::records).collect();
    Ok(transform_streams(summary, 1252, &recs, &mut |n| {
        Err(hotfixkit::Error::format(format!("fixture transform sets binary cell {n}")))
    })?)
}

/// The root database every patch has (a string pool, `_Tables`, `_Columns`), holding
/// MsiPatchMetadata and MsiPatchSequence.
fn patch_root_tables(family: &str, sequence: &str, name: &str) -> Result<Vec<(String, Vec<u8>)>> {
    use hotfixkit::msi::{TableData, Val};
    let mut root = BTreeMap::new();
    let cols = |t: &str| -> Vec<hotfixkit::msi::ColInfo> {
        std_columns(t).iter().map(|c| hotfixkit::testing::column(c.name, c.kind, c.key)).collect()
    };
    root.insert(
        "MsiPatchMetadata".to_string(),
        TableData {
            name: "MsiPatchMetadata".into(),
            columns: cols("MsiPatchMetadata"),
            rows: [("Classification", "Hotfix"), ("DisplayName", name), ("AllowRemoval", "0")]
                .iter()
                .map(|(p, v)| vec![Val::Null, Val::str(*p), Val::str(*v)])
                .collect(),
        },
    );
    root.insert(
        "MsiPatchSequence".to_string(),
        TableData {
            name: "MsiPatchSequence".into(),
            columns: cols("MsiPatchSequence"),
            rows: vec![vec![Val::str(family), Val::Null, Val::str(sequence), Val::Int(0)]],
        },
    );
    Ok(hotfixkit::msi::encode_tables(&root, 1252)?)
}

/// A patch for the client MSI that updates CcmExec.exe with a binary delta (PA19): a
/// deliberately hand-made fixture (independent of the builder's delta code), with the
/// root database every patch has. Its Patch row carries the delta's header in the Header
/// column, in the stream `Patch.ccmexec.exe.10001` of `#DELTA`: Wine's transform reader
/// drops an inserted row whose binary cell has no stream, and the first version of this
/// fixture, without it, left CcmExec.exe unpatched under `msiexec /p`.
pub fn delta_msp() -> Result<Vec<u8>> {
    let old = pe("CcmExec.exe", Platform::X86, "4.0.6487.2000", 9000)?;
    let new = pe("CcmExec.exe", Platform::X86, "4.0.6487.2111", 9500)?;
    let delta = write_pa19(&old, &new);
    let header = write_pa19_header(&old, &new);
    let cab = write_cab(
        &[vec![CabInput { name: "ccmexec.exe".into(), data: delta.clone(), datetime: (2010, 1, 25, 6, 27, 0) }]],
        CabCompression::MsZip,
    )?;
    let flags = (0x0802 << 16) | 0x001F;
    let tsum = |name: &str| -> Vec<(u32, Prop)> {
        vec![
            (1, Prop::I2(1252)),
            (2, Prop::Str(format!("Transform {name}"))),
            (7, Prop::Str("Intel;1033".into())),
            (8, Prop::Str("Intel;1033".into())),
            (9, Prop::Str(format!("{CLIENT_PRODUCT}4.00.6487.2000;{CLIENT_PRODUCT}4.00.6487.2000;{CLIENT_UPGRADE}"))),
            (16, Prop::I4(flags)),
        ]
    };
    let x = streams(
        &tsum("DELTA"),
        &[TableOps {
            name: "File".into(),
            columns: std_columns("File"),
            create: false,
            ops: vec![Op::Update(
                vec!["ccmexec.exe".into()],
                vec![(3, Cell::Int(new.len() as i32)), (4, "4.0.6487.2111".into())],
            )],
        }],
    )?;
    let code = "{D7E1A0C0-0977-4203-8000-0000000000DE}";
    let mut hx_tables: Vec<TableRecords> = [
        patch_package(code, 3),
        TableOps {
            name: "Patch".into(),
            columns: vec![
                col("File_", "s72", true),
                col("Sequence", "i4", true),
                col("PatchSize", "i4", false),
                col("Attributes", "i2", false),
                col("Header", "V0", false),
                col("StreamRef_", "S72", false),
            ],
            create: true,
            ops: vec![Op::Insert(vec![
                "ccmexec.exe".into(),
                10001.into(),
                (delta.len() as i32).into(),
                0.into(),
                Cell::Null,
                Cell::Null,
            ])],
        },
        TableOps {
            name: "Media".into(),
            columns: std_columns("Media"),
            create: false,
            ops: vec![Op::Insert(vec![
                3.into(),
                10001.into(),
                Cell::Null,
                "#PCW_DELTA".into(),
                Cell::Null,
                "PATCHMediaSrcProp".into(),
            ])],
        },
    ]
    .iter()
    .map(TableOps::records)
    .collect();
    // The Header cell is binary: its bytes are a stream named by the row's keys.
    for t in hx_tables.iter_mut().filter(|t| t.name == "Patch") {
        for r in &mut t.records {
            if let Record::Insert(row) = r {
                row[4] = hotfixkit::msi::Val::Binary;
            }
        }
    }
    let hx = transform_streams(&tsum("#DELTA"), 1252, &hx_tables, &mut |n| {
        if n == "Patch.ccmexec.exe.10001" {
            Ok(header.clone())
        } else {
            Err(hotfixkit::Error::format(format!("fixture transform sets binary cell {n}")))
        }
    })?;
    let spec = PatchSpec {
        summary: vec![
            (1, Prop::I2(1252)),
            (2, Prop::Str("Patch".into())),
            (3, Prop::Str("CcmExec delta (fixture)".into())),
            (7, Prop::Str(CLIENT_PRODUCT.into())),
            (8, Prop::Str(":DELTA;:#DELTA".into())),
            (9, Prop::Str(code.into())),
            (15, Prop::I4(4)),
        ],
        root_tables: patch_root_tables("KB977203-DELTA", "4.0.6487.2111", "CcmExec delta (fixture)")?,
        streams: vec![("PCW_DELTA".into(), cab)],
        transforms: vec![("DELTA".into(), x), ("#DELTA".into(), hx)],
        size: None,
    };
    Ok(write_patch(&spec)?)
}

/// Every KB977203 fixture: relative path -> bytes.
pub fn all(root: &std::path::Path, out: &mut BTreeMap<String, Vec<u8>>) -> Result<()> {
    for sp in [1u32, 2] {
        let p = root.join(format!("manifests/kb977203-sp{sp}.yaml"));
        let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        let m: Manifest = yaml_serde::from_str(&text)?;
        out.insert(format!("kb977203/sp{sp}/SCCM2007-SP{sp}-KB977203-ENU.msi"), hotfix_msi(sp, &m)?);
    }
    out.insert("kb977203/client/client.msi".into(), client_msi()?);
    out.insert("kb977203/client/ccmexec-delta.msp".into(), delta_msp()?);
    Ok(())
}
