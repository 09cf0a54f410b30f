//! Wall-clock conversions: `SystemTime` ⇄ integer microseconds (how the tables store time) and
//! the `YYYY-MM-DD HH:MM:SS` text Asterisk's `cdr_csv` writes (`DATE_FORMAT "%Y-%m-%d %T"`).
//!
//! The store never reads a clock: every time arrives from the caller. Text times are UTC (as
//! `cdr_csv` with `usegmtime=yes`): a CDR file that changes meaning with the host's time zone or a
//! DST switch is a billing bug, and UTC sorts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch; times before 1970 (a broken clock) are negative.
pub(crate) fn to_micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |m| -m),
    }
}

/// The inverse of [`to_micros`].
pub(crate) fn from_micros(us: i64) -> SystemTime {
    if us >= 0 {
        UNIX_EPOCH + Duration::from_micros(us.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_micros(us.unsigned_abs())
    }
}

/// Whole seconds since the Unix epoch, truncated toward minus infinity (queue_log's first field,
/// Asterisk's `(long)time(NULL)`).
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    to_micros(t).div_euclid(1_000_000)
}

/// Whole seconds of `later - earlier`, truncated, 0 if `later` is not after `earlier`
/// (Asterisk `cdr.c` `cdr_object_get_duration`: `ast_tvdiff_ms(end, start) / 1000`).
pub(crate) fn whole_seconds_between(earlier: SystemTime, later: SystemTime) -> u64 {
    later
        .duration_since(earlier)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub(crate) fn format_utc(t: SystemTime) -> String {
    let secs = unix_seconds(t);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day): Howard Hinnant's
/// `civil_from_days` (<http://howardhinnant.github.io/date_algorithms.html>), exact for every
/// `i64` day count a `SystemTime` can produce.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = if m <= 2 { y + 1 } else { y };
    // d and m are in their small ranges by construction.
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn formats_known_instants_in_utc() {
        assert_eq!(format_utc(at(0)), "1970-01-01 00:00:00");
        assert_eq!(format_utc(at(951_782_400)), "2000-02-29 00:00:00");
        assert_eq!(format_utc(at(1_700_000_000)), "2023-11-14 22:13:20");
        assert_eq!(format_utc(at(4_102_444_799)), "2099-12-31 23:59:59");
        assert_eq!(
            format_utc(UNIX_EPOCH - Duration::from_secs(1)),
            "1969-12-31 23:59:59"
        );
    }

    #[test]
    fn sub_second_part_is_truncated_not_rounded() {
        let t = at(1_700_000_000) + Duration::from_millis(999);
        assert_eq!(format_utc(t), "2023-11-14 22:13:20");
        assert_eq!(unix_seconds(t), 1_700_000_000);
    }

    #[test]
    fn micros_round_trip() {
        for t in [
            at(0),
            at(1_700_000_000) + Duration::from_micros(123_456),
            UNIX_EPOCH - Duration::from_micros(5),
        ] {
            assert_eq!(from_micros(to_micros(t)), t);
        }
    }

    #[test]
    fn durations_truncate_like_asterisk() {
        let start = at(100);
        assert_eq!(
            whole_seconds_between(start, start + Duration::from_millis(1999)),
            1
        );
        assert_eq!(
            whole_seconds_between(start, start - Duration::from_secs(3)),
            0
        );
    }
}
