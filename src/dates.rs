//! Dates and times through the `time` crate: Unix seconds from calendar fields and from
//! Windows FILETIMEs, and the ISO-8601 UTC form every report uses.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Unix seconds of a calendar date and time taken as UTC, or `None` when the fields do
/// not name a real moment (month 13, 31 February, 24:00).
pub fn civil_to_unix(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    let month = Month::try_from(u8::try_from(mo).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?).ok()?;
    let time = Time::from_hms(u8::try_from(h).ok()?, u8::try_from(mi).ok()?, u8::try_from(s).ok()?).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc().unix_timestamp())
}

/// Unix seconds of a Windows FILETIME (100 ns since 1601-01-01 UTC).
pub fn filetime_to_unix(ft: u64) -> i64 {
    (ft / 10_000_000) as i64 - 11_644_473_600
}

/// Unix seconds as `YYYY-MM-DDThh:mm:ssZ` (years beyond 9999 keep their digits and sign).
pub fn unix_to_iso(secs: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => {
            let y = t.year();
            let year = if (0..=9999).contains(&y) { format!("{y:04}") } else { format!("{y:+}") };
            format!(
                "{year}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        Err(_) => format!("{secs} s after 1970 (out of range)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refusals() {
        assert_eq!(civil_to_unix(1970, 1, 1, 0, 0, 0), Some(0));
        assert_eq!(civil_to_unix(2010, 1, 25, 6, 29, 10), Some(1_264_400_950));
        assert_eq!(unix_to_iso(1_264_400_950), "2010-01-25T06:29:10Z");
        assert_eq!(civil_to_unix(2009, 2, 31, 0, 0, 0), None);
        assert_eq!(civil_to_unix(2009, 13, 1, 0, 0, 0), None);
        assert_eq!(unix_to_iso(filetime_to_unix(116_444_736_000_000_000)), "1970-01-01T00:00:00Z");
        assert_eq!(unix_to_iso(-11_644_473_600), "1601-01-01T00:00:00Z");
    }
}
