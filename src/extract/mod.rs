//! Extraction as data: a request is planned (what goes where, from which source), the
//! plan is executed (the only part that writes), or single entries are read into memory.

mod admin;
mod exec;
mod hash;
mod patched;
mod plan;
mod read;
mod report;
mod request;
mod streams;

pub use exec::{execute, ExecuteOptions, Outcome, WrittenEntry};
pub(crate) use exec::{execute_into, extract_cabinet_groups};
pub(crate) use hash::hash_entries;
pub(crate) use patched::apply_all;
pub use plan::{Limits, Plan, PlanEntry, Source};
pub use read::read_entry;
pub(crate) use read::{delivery_order, read_source, stream_entries};
pub use report::{ExtractReport, ReportEntry, ReportSummary, WrittenFiles};
pub use request::{plan, ExtractRequest};
pub use streams::{write_streams, StreamsOutcome, StreamsReport};
