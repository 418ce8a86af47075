//! Patches and transforms on the corpus's real MSP/MST files (WiX, psmsi, PatchWiz, Wine).

use crate::util::*;
use std::path::PathBuf;

fn csv(args: &[&std::ffi::OsStr]) -> String {
    let o = run_os(args);
    assert!(o.status.success(), "{:?}: {}", args, stderr(&o));
    stdout(&o)
}

/// `hotfixkit tables MSI TABLE --patch MSP --format FORMAT`, which must succeed.
fn patched_table(msi: &std::path::Path, table: &str, msp: &std::path::Path, format: &str) -> String {
    csv(&[
        "tables".as_ref(),
        msi.as_os_str(),
        table.as_ref(),
        "--patch".as_ref(),
        msp.as_os_str(),
        "--format".as_ref(),
        format.as_ref(),
    ])
}

fn psmsi(shared: &std::path::Path, f: &str) -> PathBuf {
    shared.join("corpus/psmsi/test/PowerShell.Test/Data").join(f)
}

fn wix3(shared: &std::path::Path, f: &str) -> PathBuf {
    shared.join("corpus/wix3/test/data/BurnTestPayloads").join(f)
}

fn psmsi_example_msp_sets_registry_version_and_adds_patch_media() {
    let s = shared();
    let msi = psmsi(&s, "Example.msi");
    let msp = psmsi(&s, "Example.msp");
    let before = csv(&["tables".as_ref(), msi.as_os_str(), "Registry".as_ref(), "--format".as_ref(), "csv".as_ref()]);
    assert!(before.contains(",Version,1.0.0,"), "{before}");
    let after = patched_table(&msi, "Registry", &msp, "csv");
    assert!(after.contains(",Version,1.0.1,"), "{after}");
    let media = patched_table(&msi, "Media", &msp, "json");
    let v: serde_json::Value = serde_json::from_str(&media).unwrap();
    let rows = v[0]["rows"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["DiskId"] == 100 && r["Cabinet"] == "#Patch"), "{media}");
}

fn transforms_are_validated_and_forced_views_change_property() {
    let s = shared();
    let msi = psmsi(&s, "Example.msi");
    let mst = psmsi(&s, "Example.jpn.mst");
    // Viewing shows the transformed tables with a warning when validation would refuse
    // them (as Orca does); extracting keeps refusing unless forced.
    let o = run_os(&["tables".as_ref(), msi.as_os_str(), "Property".as_ref(), "--transform".as_ref(), mst.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("does not apply: ProductCode is {877EF582-78AF-4D84-888B-167FDC3BCC11}, the transform is for {000C1109-0000-0000-C000-000000000046}"), "{e}");
    assert!(e.contains("warning:") && e.contains("the view shows the changes anyway"), "{e}");
    assert!(stdout(&o).contains("1041"), "{}", stdout(&o));
    let t = tempdir();
    let o = run_os(&[
        "extract".as_ref(),
        msi.as_os_str(),
        "-o".as_ref(),
        t.path().join("x").as_os_str(),
        "--transform".as_ref(),
        mst.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not apply") && stderr(&o).contains("--force-apply"), "{}", stderr(&o));
    let out = csv(&[
        "tables".as_ref(),
        msi.as_os_str(),
        "Property".as_ref(),
        "--transform".as_ref(),
        mst.as_os_str(),
        "--force-apply".as_ref(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    assert!(out.contains("ProductLanguage,1041\r\n"), "{out}");
    assert!(out.contains("ProductName,テストプロダクト\r\n"), "{out}");
    // Example.mst drops table AppId and changes Directory and Binary.
    let mst = psmsi(&s, "Example.mst");
    let o = run_os(&[
        "tables".as_ref(),
        msi.as_os_str(),
        "--transform".as_ref(),
        mst.as_os_str(),
        "--force-apply".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let names: Vec<&str> = v.as_array().unwrap().iter().map(|t| t["table"].as_str().unwrap()).collect();
    assert!(!names.contains(&"AppId"), "{names:?}");
    let dir = v.as_array().unwrap().iter().find(|t| t["table"] == "Directory").unwrap();
    assert!(dir["rows"].as_array().unwrap().iter().any(|r| r["Directory"] == "Added"), "{dir}");
}

fn multi_target_patch_adds_its_own_media_row_to_each_product() {
    let s = shared();
    let msp = wix3(&s, "PerMachineMsisMsps/PatchABv101.msp");
    for (prod, cab) in [("A", "#A.cab"), ("B", "#B.cab")] {
        let msi = wix3(&s, &format!("PerMachineMsisMsps/prod{prod}v100.msi"));
        let out = patched_table(&msi, "Media", &msp, "json");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let cabs: Vec<&str> =
            v[0]["rows"].as_array().unwrap().iter().map(|r| r["Cabinet"].as_str().unwrap_or("")).collect();
        assert_eq!(cabs, ["#product.cab", cab], "product {prod}");
    }
}

fn gdr1_patched_admin_image_has_the_new_and_added_files() {
    let s = shared();
    let t = tempdir();
    let out = t.path().join("img");
    let msi = wix3(&s, "MSIsandMSPs/RtmProduct/product.msi");
    let msp = wix3(&s, "MSIsandMSPs/GDR1/gdr1.msp");
    let o = extract_patched(&msi, &msp, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let l = listing(&out);
    let files: Vec<(&str, u64)> = l.iter().map(|e| (e.0.as_str(), e.1)).filter(|e| !e.0.ends_with(".msi")).collect();
    assert_eq!(
        files,
        [
            ("Program Files/Dual Branch Servicing - Single MSP/patch.wxs", 1025),
            ("Program Files/Dual Branch Servicing - Single MSP/product.wxs", 2051)
        ]
    );
    // The same through the msiexec command line.
    let out2 = t.path().join("img2");
    let target = format!("TARGETDIR={}", out2.display());
    let o = run_os(&[
        "msiexec".as_ref(),
        "/a".as_ref(),
        msi.as_os_str(),
        "/p".as_ref(),
        msp.as_os_str(),
        "/qn".as_ref(),
        target.as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let l2 = listing(&out2);
    assert_eq!(
        l.iter().filter(|e| !e.0.ends_with(".msi")).map(|e| &e.3).collect::<Vec<_>>(),
        l2.iter().filter(|e| !e.0.ends_with(".msi")).map(|e| &e.3).collect::<Vec<_>>()
    );
    // The admin package carries the product changes (File sizes) but not the patch's own
    // plumbing (no Patch/PatchPackage tables, no patch Media row), and the summary
    // properties the patch names.
    let admin = out.join("product.msi");
    let files_csv = csv(&["tables".as_ref(), admin.as_os_str(), "File".as_ref(), "--format".as_ref(), "csv".as_ref()]);
    assert!(files_csv.contains("F_Source,C_Source,product.wxs,2051,"), "{files_csv}");
    assert!(files_csv.contains("F_Patch,C_Patch,patch.wxs,1025,"), "{files_csv}");
    let media = csv(&["tables".as_ref(), admin.as_os_str(), "Media".as_ref(), "--format".as_ref(), "csv".as_ref()]);
    assert_eq!(media.lines().count(), 2, "{media}");
    let info = csv(&["info".as_ref(), admin.as_os_str(), "--json".as_ref()]);
    let v: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert!(!v["package"]["tables"].as_array().unwrap().iter().any(|t| t["name"] == "PatchPackage"));
    let sum = v["package"]["summary"].as_array().unwrap();
    let get = |n: &str| sum.iter().find(|p| p["name"] == n).map(|p| p["value"].clone()).unwrap();
    assert_eq!(get("Subject"), "Security Update (KB1)");
    assert_eq!(get("Word Count"), 4);
    {
        let o = std::process::Command::new("msiinfo").arg("export").arg(&admin).arg("File").output().unwrap();
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("product.wxs\t2051"),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

fn ldr_patches_refuse_the_rtm_product_naming_the_version_check() {
    let s = shared();
    let msi = wix3(&s, "MSIsandMSPs/RtmProduct/product.msi");
    for p in ["LDR2/ldr2.msp", "LDR3/ldr3.msp"] {
        let t = tempdir();
        let msp = wix3(&s, &format!("MSIsandMSPs/{p}"));
        let o = extract_patched(&msi, &msp, &t.path().join("o"));
        assert_eq!(o.status.code(), Some(2), "{p}");
        let e = stderr(&o);
        assert!(e.contains("the patch does not apply to this package: rtmldr.1: ProductVersion 1.0.0.0 fails the version check (3 parts, = 1.0.1.0)"), "{p}: {e}");
    }
    let t = tempdir();
    let msp = wix3(&s, "MSIsandMSPs/Baseliner/rtmldr.msp");
    let o = extract_patched(&msi, &msp, &t.path().join("o"));
    assert!(o.status.success(), "{}", stderr(&o));
}

fn microsoft_built_patches_list_transforms_sequences_and_cabinets() {
    let s = shared();
    let dir = s.join("corpus/lessmsi/src/Lessmsi.Tests/TestFiles/MsiInput");
    for (f, code, pair, cab) in [
        (
            "SQL2008_AS.msp",
            "{2DFFC5F8-9B0F-4510-92AE-FA3D38B8A47D}",
            ["Target01ToUpgrade01", "#Target01ToUpgrade01"],
            "PCW_CAB_Family01",
        ),
        ("WPF2_32.msp", "{09966C32-C34D-4FF4-8C7E-94A9630DDEF8}", ["T1ToU1", "#T1ToU1"], "PCW_CAB_NetFX"),
    ] {
        let p = dir.join(f);
        let v: serde_json::Value =
            serde_json::from_str(&csv(&["info".as_ref(), p.as_os_str(), "--json".as_ref()])).unwrap();
        assert_eq!(v["patch"]["patch_code"], code, "{f}");
        assert_eq!(v["patch"]["transforms"], serde_json::json!(pair), "{f}");
        assert!(!v["patch"]["sequence"].as_array().unwrap().is_empty(), "{f}");
        assert_eq!(v["patch"]["transform_info"].as_array().unwrap().len(), 2);
        let cabs = v["package"]["cabinet_streams"].as_array().unwrap();
        assert_eq!(cabs.len(), 1);
        assert_eq!(cabs[0]["name"], cab);
        assert_eq!(cabs[0]["file_count"], 1);
        // Extracting the patch alone writes its one entry, named by File key.
        let t = tempdir();
        let o = run_os(&[
            "--json".as_ref(),
            "extract".as_ref(),
            p.as_os_str(),
            "--targetdir".as_ref(),
            t.path().join("o").as_os_str(),
        ]);
        assert!(o.status.success(), "{f}: {}", stderr(&o));
        let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(r["entries"][0]["path"], "filler");
        assert_eq!(r["entries"][0]["written"], true);
    }
}

fn patch_alone_names_files_from_its_transforms() {
    let s = shared();
    let msp = wix3(&s, "MSIsandMSPs/GDR1/gdr1.msp");
    let t = tempdir();
    let out = t.path().join("o");
    let o = run_os(&[
        "--json".as_ref(),
        "extract".as_ref(),
        msp.as_os_str(),
        "--targetdir".as_ref(),
        out.as_os_str(),
        "--dry-run".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let e = v["entries"].as_array().unwrap();
    let added = e.iter().find(|x| x["key"] == "F_Patch").unwrap();
    assert_eq!(added["named_by"], "file-table");
    assert_eq!(added["delta"], false);
    assert!(added["path"].as_str().unwrap().ends_with("patch.wxs"), "{added}");
}

fn wine_test_patch_gives_patch_txt_of_1002_bytes_and_adds_file_txt() {
    let s = shared();
    let base = s.join("msp/samples/wine_patch_test_base.msi");
    let msp = s.join("msp/samples/wine_patch_test.msp");
    let t = tempdir();
    let out = t.path().join("o");
    let o = extract_patched(&base, &msp, &out);
    // The base is an uncompressed package whose loose source files are not in the
    // samples folder: disable.txt cannot be copied, the patch's files are written.
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("File disable.txt is uncompressed but its source"), "{e}");
    assert_eq!(std::fs::metadata(out.join("msitest/patch.txt")).unwrap().len(), 1002);
    assert!(out.join("msitest/file.txt").is_file());
}

crate::cases![
    psmsi_example_msp_sets_registry_version_and_adds_patch_media needs [Need::Corpus],
    transforms_are_validated_and_forced_views_change_property needs [Need::Corpus],
    multi_target_patch_adds_its_own_media_row_to_each_product needs [Need::Corpus],
    gdr1_patched_admin_image_has_the_new_and_added_files needs [Need::Corpus, Need::Tool("msiinfo")],
    ldr_patches_refuse_the_rtm_product_naming_the_version_check needs [Need::Corpus],
    microsoft_built_patches_list_transforms_sequences_and_cabinets needs [Need::Corpus],
    patch_alone_names_files_from_its_transforms needs [Need::Corpus],
    wine_test_patch_gives_patch_txt_of_1002_bytes_and_adds_file_txt needs [Need::Corpus],
];
