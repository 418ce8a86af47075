//! Real packages' edge cases (issue #13): merge modules, two File rows to one path, an
//! integer column declared one byte wide (WiX 4's Firewall4.msi, checked by Wine's
//! installer too), truncated packages.

use crate::util::*;
use std::path::{Path, PathBuf};

fn corpus(rel: &str) -> PathBuf {
    shared().join("corpus").join(rel)
}

/// A merge module extracts its files under their real names into its Directory layout,
/// byte for byte the members of its MergeModule.CABinet stream; `info` calls it MSM.
fn merge_module_extracts_by_real_names() {
    let msm = corpus("wix/src/test/msi/TestData/FirewallExtensionTests/CrossVersionMerge/Module401.msm");
    let o = run_os(&["--json".as_ref(), "info".as_ref(), msm.as_os_str()]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["kind"], "MSM");
    let t = tempdir();
    let out = t.path().join("m");
    let o = run_os(&["extract".as_ref(), msm.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let members = cab_crate_files(&msi_crate_stream(&msm, "MergeModule.CABinet"));
    let got = listing(&out);
    assert_eq!(got.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["file1.txt", "file2.txt"]);
    for (name, key) in [("file1.txt", "File1"), ("file2.txt", "File2")] {
        let (_, data) = members.iter().find(|(k, _)| k.starts_with(key)).expect("cabinet member");
        assert_eq!(std::fs::read(out.join(name)).unwrap(), *data, "{name}");
    }
    // No administrative copy: a merge module is not an installation source.
    assert!(!out.join("Module401.msm").exists());
}

/// IDT files for msibuild: a package with two File rows (two components) that map to
/// one path, the ICE30 fault.
fn duplicate_rows_package(dir: &Path) -> PathBuf {
    let idt =
        |name: &str, text: &str| std::fs::write(dir.join(format!("{name}.idt")), text.replace('|', "\t")).unwrap();
    idt("Directory", "Directory|Directory_Parent|DefaultDir\r\ns72|S72|l255\r\nDirectory|Directory\r\nTARGETDIR||SourceDir\r\nAPP|TARGETDIR|App\r\n");
    idt(
        "Component",
        "Component|ComponentId|Directory_|Attributes|Condition|KeyPath\r\ns72|S38|s72|i2|S255|S72\r\nComponent|Component\r\nCA|{11111111-1111-1111-1111-111111111111}|APP|0||FA\r\nCB|{22222222-2222-2222-2222-222222222222}|APP|0||FB\r\n",
    );
    idt(
        "File",
        "File|Component_|FileName|FileSize|Version|Language|Attributes|Sequence\r\ns72|s72|l255|i4|S72|S20|I2|i2\r\nFile|File\r\nFA|CA|same.txt|3|||16384|1\r\nFB|CB|SAME.TXT|3|||16384|2\r\n",
    );
    idt("Media", "DiskId|LastSequence|DiskPrompt|Cabinet|VolumeLabel|Source\r\ni2|i2|L64|S255|S32|S72\r\nMedia|DiskId\r\n1|2||#d.cab||\r\n");
    idt(
        "Property",
        "Property|Value\r\ns72|l0\r\nProperty|Property\r\nProductCode|{33333333-3333-3333-3333-333333333333}\r\n",
    );
    let mut cab = cab::CabinetBuilder::new();
    {
        let f = cab.add_folder(cab::CompressionType::MsZip);
        f.add_file("FA");
        f.add_file("FB");
    }
    let mut w = cab.build(std::io::Cursor::new(Vec::new())).unwrap();
    for data in [b"one", b"two"] {
        let mut fw = w.next_file().unwrap().unwrap();
        std::io::Write::write_all(&mut fw, data).unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    let cabp = dir.join("d.cab");
    std::fs::write(&cabp, bytes).unwrap();
    let msi = dir.join("dup.msi");
    // msibuild takes -s only as the last option, so the summary is a second run.
    let mut cmd = std::process::Command::new("msibuild");
    cmd.arg(&msi);
    for t in ["Directory", "Component", "File", "Media", "Property"] {
        cmd.arg("-i").arg(dir.join(format!("{t}.idt")));
    }
    cmd.arg("-a").arg("d.cab").arg(&cabp);
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "msibuild: {}", String::from_utf8_lossy(&o.stdout));
    let o = std::process::Command::new("msibuild")
        .arg(&msi)
        .args(["-s", "Dup", "hotfixkit test", "Intel;1033", "{44444444-4444-4444-4444-444444444444}"])
        .output()
        .unwrap();
    assert!(o.status.success(), "msibuild -s: {}", String::from_utf8_lossy(&o.stdout));
    msi
}

/// Two File rows to one path: the row later in sequence is written (as a copy in
/// sequence order leaves it), the plan predicts it and both warn naming the rows.
fn two_rows_to_one_path_follow_the_documented_rule() {
    let t = tempdir();
    let msi = duplicate_rows_package(t.path());
    let out = t.path().join("img");
    let o = run_os(&["extract".as_ref(), msi.as_os_str(), "-o".as_ref(), out.as_os_str(), "--dry-run".as_ref()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let warn = "File rows FA and FB both map to App/SAME.TXT; FB, later in sequence, is written (ICE30)";
    assert!(stderr(&o).contains(warn), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().filter(|l| l.starts_with("App/")).count(), 1, "{}", stdout(&o));
    let o = run_os(&["extract".as_ref(), msi.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains(warn), "{}", stderr(&o));
    assert_eq!(std::fs::read(out.join("App/SAME.TXT")).unwrap(), b"two");
    assert!(out.join("dup.msi").is_file(), "the image is complete: it has its package copy");
}

/// WiX 4's Firewall4.msi declares an integer column one byte wide, which Windows
/// Installer and Wine read as two bytes: its tables read and its image extracts.
fn integer_columns_of_size_one_read_as_two_bytes() {
    let msi = corpus("wix/src/ext/Firewall/test/WixToolsetTest.Firewall/TestData/DecompileWix4Firewall/Firewall4.msi");
    let o = run_os(&["--json".as_ref(), "tables".as_ref(), msi.as_os_str(), "Wix4FirewallException".as_ref()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v[0]["columns"].as_array().unwrap().iter().any(|c| c == "Protocol"), "{v}");
    let t = tempdir();
    let out = t.path().join("img");
    let o = run_os(&["extract".as_ref(), msi.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(out.join("Firewall4.msi").is_file());
}

/// Wine's Windows Installer installs our image of Firewall4.msi with the same result as
/// the original package (../shared/oracle/wine_roundtrip.py).
fn firewall4_image_installs_like_the_original_under_wine() {
    let msi = corpus("wix/src/ext/Firewall/test/WixToolsetTest.Firewall/TestData/DecompileWix4Firewall/Firewall4.msi");
    let o = std::process::Command::new("python3")
        .arg(shared().join("oracle/wine_roundtrip.py"))
        .arg(bin())
        .arg(&msi)
        .env("TMPDIR", if Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" })
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("wine-roundtrip: 1/1"), "{out}{}", String::from_utf8_lossy(&o.stderr));
}

/// A truncated package's error says truncated.
fn a_truncated_package_says_truncated() {
    let pkg = std::fs::read(fixture("kb977203/sp2/SCCM2007-SP2-KB977203-ENU.msi")).unwrap();
    let t = tempdir();
    for cut in [600, 5000, pkg.len() * 9 / 10] {
        let p = t.path().join(format!("cut{cut}.msi"));
        std::fs::write(&p, &pkg[..cut]).unwrap();
        let o = run_os(&["info".as_ref(), p.as_os_str()]);
        assert_eq!(o.status.code(), Some(2), "{cut}");
        assert!(stderr(&o).contains("truncated"), "{cut}: {}", stderr(&o));
    }
}

crate::cases![
    merge_module_extracts_by_real_names needs [Need::Corpus],
    two_rows_to_one_path_follow_the_documented_rule needs [Need::Tool("msibuild")],
    integer_columns_of_size_one_read_as_two_bytes needs [Need::Corpus],
    firewall4_image_installs_like_the_original_under_wine needs [Need::Corpus, Need::Tool("wine"), Need::Tool("msiinfo")],
    a_truncated_package_says_truncated,
];
