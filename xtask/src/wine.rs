//! `cargo xtask wine-oracle`: Wine's msiexec has no administrative install, but `/i … PATCH=`
//! gives patched file contents. Install the client fixture with each service pack's patch
//! under Wine and compare the files with hotfixkit's patched administrative image.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

fn sha(p: &Path) -> Result<String> {
    let o = Command::new("sha256sum").arg(p).output()?;
    Ok(String::from_utf8_lossy(&o.stdout).split_whitespace().next().unwrap_or("").to_string())
}

pub fn run(root: &Path) -> Result<()> {
    let work = std::env::temp_dir().join(format!("hotfixkit-wine-{}", std::process::id()));
    let prefix = work.join("prefix");
    std::fs::create_dir_all(&work)?;
    let wine = |args: &[&str]| -> Result<std::process::ExitStatus> {
        Command::new("wine")
            .args(args)
            .env("WINEPREFIX", &prefix)
            .env("WINEDEBUG", "-all")
            .current_dir(&work)
            .status()
            .context("running wine (apt-get install wine)")
    };
    println!("creating a Wine prefix in {}", prefix.display());
    let _ = Command::new("wineboot").arg("-i").env("WINEPREFIX", &prefix).env("WINEDEBUG", "-all").status()?;
    let bin = crate::bench::build_release(root)?;
    std::fs::copy(root.join("fixtures/kb977203/client/client.msi"), work.join("client.msi"))?;
    let mut failures = 0;
    for sp in [1, 2] {
        let img = work.join(format!("hotfix{sp}"));
        let st = Command::new(&bin)
            .args(["extract", "-q"])
            .arg(root.join(format!("fixtures/kb977203/sp{sp}/SCCM2007-SP{sp}-KB977203-ENU.msi")))
            .arg("--targetdir")
            .arg(&img)
            .status()?;
        if !st.success() {
            bail!("extracting SP{sp} failed");
        }
        let msp = format!("p{sp}.msp");
        std::fs::copy(img.join(format!("KB977203/Client/i386/Sccm2007ac-sp{sp}-kb977203-x86.msp")), work.join(&msp))?;
        let ours = work.join(format!("ours{sp}"));
        let st = Command::new(&bin)
            .args(["extract", "-q", "client.msi", "--patch", &msp, "--targetdir"])
            .arg(&ours)
            .current_dir(&work)
            .status()?;
        if !st.success() {
            bail!("hotfixkit patched image SP{sp} failed");
        }
        let installed = prefix.join("drive_c/windows/syswow64/CCM");
        let _ = std::fs::remove_dir_all(&installed);
        wine(&["msiexec", "/x", "client.msi", "/qn"])?;
        let _ = std::fs::remove_dir_all(&installed);
        let patch_arg =
            format!("PATCH={}", work.join(&msp).display()).replace('/', "\\").replacen("PATCH=\\", "PATCH=Z:\\", 1);
        wine(&["msiexec", "/i", "client.msi", &patch_arg, "/qn"])?;
        for f in ["CcmGenCert.dll", "CcmExec.exe"] {
            let a = sha(&installed.join(f))?;
            let b = sha(&ours.join("System32/CCM").join(f))?;
            let ok = !a.is_empty() && a == b;
            println!("SP{sp} {f}: wine {a} hotfixkit {b} {}", if ok { "MATCH" } else { "DIFFER" });
            if !ok {
                failures += 1;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    if failures > 0 {
        bail!("{failures} files differ from Wine's");
    }
    Ok(())
}
