//! Writing a package's root streams out as files under escaped names.

use crate::error::{Error, ErrorKind, Location, Result};
use crate::msi::StreamEntry;
use crate::output::{Target, WriteOptions, Written};
use std::io::Read;
use std::path::Path;

/// What [`write_streams`] did, one result per stream.
#[derive(Debug)]
pub struct StreamsOutcome {
    /// Each stream with what was written, or why not.
    pub streams: Vec<(StreamEntry, Result<Written>)>,
}

/// What `streams PKG -o DIR --json` prints.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct StreamsReport {
    /// The streams written.
    pub files: Vec<Written>,
    /// The streams that could not be.
    pub errors: Vec<Error>,
}

impl StreamsOutcome {
    /// The files written and the errors, apart.
    pub fn report(self) -> StreamsReport {
        let mut r = StreamsReport { files: Vec::new(), errors: Vec::new() };
        for (_, w) in self.streams {
            match w {
                Ok(w) => r.files.push(w),
                Err(e) => r.errors.push(e),
            }
        }
        r
    }
}

/// Write every non-table root stream of `package` into `target` under its escaped
/// name ([`crate::msi::escape_name`]). A target that is not empty is refused unless
/// `opts.overwrite`.
pub fn write_streams(package: &Path, target: &Path, opts: &WriteOptions) -> Result<StreamsOutcome> {
    let (comp, _) = crate::msi::open_compound(package)?;
    if !opts.overwrite && std::fs::read_dir(target).map(|mut d| d.next().is_some()).unwrap_or(false) {
        return Err(Error::new(ErrorKind::Exists, "target directory is not empty").with_path(target));
    }
    let t = Target::new(target, *opts)?;
    let mut out = Vec::new();
    for (entry, cfb_path) in crate::msi::streams::list_compound(&comp) {
        let name = &entry.name;
        let comps = [entry.file_name.clone()];
        let res = t.claim(&comps).and_then(|_| {
            let mut w = t.create(&comps, None)?;
            let mut r = comp.open_stream(&cfb_path).map_err(|e| {
                Error::new(ErrorKind::Format, format!("stream {name:?}: {e}"))
                    .with_path(package)
                    .at(Location::Stream { name: name.clone() })
            })?;
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = r.read(&mut buf).map_err(|e| Error::io(&e, format_args!("reading stream {name:?}")))?;
                if n == 0 {
                    break;
                }
                w.write(&buf[..n])?;
            }
            w.finish()
        });
        let res = res.map_err(|e| e.context(format!("stream {name:?}")));
        out.push((entry, res));
    }
    if let Some(e) = t.commit().into_iter().next() {
        return Err(e.with_path(target));
    }
    Ok(StreamsOutcome { streams: out })
}
