//! Helpers: run the binary, list a tree, find the fixtures and the shared corpus.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hotfixkit"))
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// ../shared beside the checkout, or where `HOTFIXKIT_SHARED` points.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("HOTFIXKIT_SHARED").map(PathBuf::from).unwrap_or_else(|| root().join("../shared"))
}

/// The shared corpus. Tests that call this declare `Need::Corpus`, so they are not run
/// (reported ignored) when it is absent, unless `HOTFIXKIT_REQUIRE_CORPUS=1` makes them
/// fail here instead.
pub fn shared() -> PathBuf {
    let p = shared_dir();
    assert!(
        p.join("corpus").is_dir(),
        "the shared corpus is required but missing: {} (set HOTFIXKIT_SHARED)",
        p.join("corpus").display()
    );
    p
}

pub fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).env("NO_COLOR", "1").output().expect("run hotfixkit")
}

pub fn run_os(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(bin()).args(args).env("NO_COLOR", "1").output().expect("run hotfixkit")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn sha256(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file under `dir`: "path size mtime(UTC seconds)" sorted, `/` separators.
pub fn listing(dir: &Path) -> Vec<(String, u64, i64, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else if m.file_type().is_symlink() {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
                out.push((rel, 0, 0, "symbolic link".to_string()));
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
                let mtime = filetime::FileTime::from_last_modification_time(&m).unix_seconds();
                out.push((rel, m.len(), mtime, sha256(&std::fs::read(&p).unwrap())));
            }
        }
    }
    out.sort();
    out
}

/// What a test needs besides the project's own files.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// The shared corpus (../shared).
    Corpus,
    /// A program on the PATH.
    Tool(&'static str),
    /// A module of the system's python3.
    Python(&'static str),
    /// Root (to mount a file system). Not an input: HOTFIXKIT_REQUIRE_CORPUS does not
    /// turn its absence into a failure.
    Root,
}

impl Need {
    /// Why the test cannot run here, or `None` when it can.
    pub fn missing(&self) -> Option<String> {
        match *self {
            Need::Corpus => (!shared_dir().join("corpus").is_dir())
                .then(|| format!("needs the shared corpus at {}", shared_dir().display())),
            Need::Tool(t) => (!has_tool(t)).then(|| format!("needs {t} on the PATH")),
            Need::Root => (!rustix::process::geteuid().is_root()).then(|| "needs root (to mount a file system)".into()),
            Need::Python(m) => {
                let ok = Command::new("/usr/bin/python3")
                    .arg("-c")
                    .arg(format!("import {m}"))
                    .output()
                    .map(|o| o.status.success())
                    .unwrap_or(false);
                (!ok).then(|| format!("needs the python3 module {m} (/usr/bin/python3)"))
            }
        }
    }
}

/// One integration test: its name, what it needs, what it runs.
pub struct Case {
    pub name: String,
    pub needs: Vec<Need>,
    pub run: Box<dyn FnOnce() + Send>,
}

/// The module's tests, each `name` or `name needs [Need::…, …]`.
#[macro_export]
macro_rules! cases {
    ($($f:ident $(needs [$($n:expr),* $(,)?])?),* $(,)?) => {
        pub fn cases() -> Vec<$crate::util::Case> {
            #[allow(unused_imports)]
            use $crate::util::Need;
            let module = module_path!().trim_start_matches("it::");
            vec![$($crate::util::Case {
                name: format!("{module}::{}", stringify!($f)),
                needs: vec![$($($n),*)?],
                run: Box::new($f),
            }),*]
        }
    };
}

pub fn has_tool(name: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().map(|o| o.status.success()).unwrap_or(false)
}

/// Unix seconds of a UTC date-time.
pub fn utc(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    let date = time::Date::from_calendar_date(y as i32, time::Month::try_from(mo as u8).unwrap(), d as u8).unwrap();
    let t = time::Time::from_hms(h as u8, mi as u8, s as u8).unwrap();
    time::PrimitiveDateTime::new(date, t).assume_utc().unix_timestamp()
}

/// Files of a cabinet as the `cab` crate (a third-party reader) sees them: name -> bytes.
pub fn cab_crate_files(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut cab = cab::Cabinet::new(std::io::Cursor::new(bytes.to_vec())).expect("cab crate reads it");
    let names: Vec<String> =
        cab.folder_entries().flat_map(|f| f.file_entries().map(|e| e.name().to_string())).collect();
    let mut out = std::collections::BTreeMap::new();
    for n in names {
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut cab.read_file(&n).unwrap(), &mut data).unwrap();
        out.insert(n, data);
    }
    out
}

/// A stream of a package as the `msi` crate (third-party) reads it.
pub fn msi_crate_stream(pkg: &Path, name: &str) -> Vec<u8> {
    let mut p = msi::open(pkg).unwrap();
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut p.read_stream(name).unwrap(), &mut data).unwrap();
    data
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A temporary folder in memory (/dev/shm) when the host has one: for the timed runs,
/// where a disk's flush latency (every file is synced before its rename) is not what is
/// being measured.
pub fn tempdir_in_memory() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(t) = tempfile::tempdir_in(shm) {
            return t;
        }
    }
    tempdir()
}

/// `hotfixkit extract MSI --patch MSP --targetdir OUT`.
pub fn extract_patched(msi: &Path, msp: &Path, out: &Path) -> Output {
    run_os(&[
        "extract".as_ref(),
        msi.as_os_str(),
        "--patch".as_ref(),
        msp.as_os_str(),
        "--targetdir".as_ref(),
        out.as_os_str(),
    ])
}

/// A Wine prefix of its own in a temporary folder (made with `wineboot -i`; about 10 s
/// and 700 MB), for installing packages with Wine's msiexec.
pub struct Wine {
    dir: tempfile::TempDir,
}

impl Wine {
    pub fn new() -> Wine {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        let w = Wine { dir };
        let o = w.command("timeout", &["-k", "10", "300", "wine", "wineboot", "-i"]).output().unwrap();
        assert!(o.status.success(), "wineboot: {}", String::from_utf8_lossy(&o.stderr));
        let _ = w.command("timeout", &["60", "wineserver", "-w"]).output();
        w
    }

    pub fn prefix(&self) -> PathBuf {
        self.dir.path().join("prefix")
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.args(args)
            .env("WINEPREFIX", self.prefix())
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=,winemenubuilder.exe=d")
            .env("HOME", self.dir.path().join("home"))
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
        c
    }

    /// `wine msiexec ARGS /qn` (paths given as Unix paths are turned into `Z:` paths by
    /// the caller with [`Wine::path`]); the exit code (Wine reports msiexec's modulo 256).
    pub fn msiexec(&self, args: &[&str]) -> i32 {
        let mut a = vec!["-k", "10", "180", "wine", "msiexec"];
        a.extend_from_slice(args);
        a.push("/qn");
        let o = self.command("timeout", &a).output().unwrap();
        let _ = self.command("timeout", &["30", "wineserver", "-w"]).output();
        o.status.code().unwrap_or(-1)
    }

    /// A Unix path as Wine sees it.
    pub fn path(p: &Path) -> String {
        format!("Z:{}", p.display()).replace('/', "\\")
    }

    /// The prefix's C: drive.
    pub fn drive_c(&self) -> PathBuf {
        self.prefix().join("drive_c")
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        let _ = self.command("wineserver", &["-k"]).output();
    }
}

/// Every file under `dir` as path -> (size, sha256), `/` separators.
pub fn files_of(dir: &Path) -> std::collections::BTreeMap<String, (u64, String)> {
    if !dir.is_dir() {
        return Default::default();
    }
    listing(dir).into_iter().map(|(p, n, _, h)| (p, (n, h))).collect()
}
