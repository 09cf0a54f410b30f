//! Local time for office-hours branches: a fixed UTC offset, days of the week and an
//! `HH:MM-HH:MM` window. The wall clock is an input ([`IvrInput::Started`](crate::IvrInput));
//! nothing here reads a clock.
//!
//! A fixed offset, not a tz database zone: it has no daylight-saving rules, so an operator in a
//! zone with DST changes the offset twice a year (or writes the windows in UTC). That keeps the
//! crate free of a time zone database and the rules it would have to keep current.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds east of UTC, within ±14 hours (UTC+14 is the furthest zone in use, Kiribati).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UtcOffset(i32);

impl UtcOffset {
    /// UTC itself.
    pub const UTC: UtcOffset = UtcOffset(0);
    const MAX_SECONDS: i32 = 14 * 3600;

    /// An offset of `seconds` east of UTC, or `None` beyond ±14:00.
    pub fn from_seconds(seconds: i32) -> Option<Self> {
        (-Self::MAX_SECONDS..=Self::MAX_SECONDS)
            .contains(&seconds)
            .then_some(UtcOffset(seconds))
    }

    /// Parses `+HH:MM`, `-HH:MM` (or `Z`).
    pub fn parse(text: &str) -> Option<Self> {
        if text == "Z" {
            return Some(UtcOffset::UTC);
        }
        let sign = match text.get(..1)? {
            "+" => 1,
            "-" => -1,
            _ => return None,
        };
        let (hours, minutes) = text.get(1..)?.split_once(':')?;
        if hours.len() != 2 || minutes.len() != 2 {
            return None;
        }
        let hours: i32 = parse_digits(hours)?;
        let minutes: i32 = parse_digits(minutes)?;
        if minutes >= 60 {
            return None;
        }
        Self::from_seconds(sign * (hours * 3600 + minutes * 60))
    }

    /// Seconds east of UTC.
    pub fn seconds(self) -> i32 {
        self.0
    }

    /// The local day of week and minute of day at `wall_clock`.
    pub fn local(self, wall_clock: SystemTime) -> LocalTime {
        let unix = match wall_clock.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
        };
        let local = unix.saturating_add(i64::from(self.0));
        let days = local.div_euclid(86_400);
        let second_of_day = local.rem_euclid(86_400);
        // 1970-01-01 was a Thursday: day 0 is index 3 with Monday as 0.
        let weekday = (days + 3).rem_euclid(7);
        LocalTime {
            weekday: Weekday::ALL[usize::try_from(weekday).unwrap_or(0) % 7],
            minute_of_day: u16::try_from(second_of_day / 60).unwrap_or(0),
        }
    }
}

fn parse_digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)
    }
}

/// A local time as office-hours rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// The day of the week.
    pub weekday: Weekday,
    /// Minutes since local midnight, 0..1440.
    pub minute_of_day: u16,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    /// Monday first (ISO 8601).
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    const NAMES: [&'static str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    fn parse(text: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
            .and_then(|i| Self::ALL.get(i).copied())
    }

    fn index(self) -> u8 {
        self as u8
    }
}

/// A set of weekdays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DaySet(u8);

impl DaySet {
    /// Every day.
    pub const ALL: DaySet = DaySet(0x7f);

    /// No day (the start of a set built with [`DaySet::with_days`]).
    pub const fn empty() -> Self {
        DaySet(0)
    }

    /// Parses `mon` or a range `mon-fri` (wrapping: `fri-mon` is Fri, Sat, Sun, Mon) and adds
    /// it; `None` if it is not a day or range.
    pub fn with_days(self, text: &str) -> Option<Self> {
        let (first, last) = match text.split_once('-') {
            Some((a, b)) => (Weekday::parse(a)?, Weekday::parse(b)?),
            None => {
                let day = Weekday::parse(text)?;
                (day, day)
            }
        };
        let mut bits = self.0;
        let mut day = first.index();
        loop {
            bits |= 1 << day;
            if day == last.index() {
                break;
            }
            day = (day + 1) % 7;
        }
        Some(DaySet(bits))
    }

    /// Whether `day` is in the set.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.index()) != 0
    }
}

/// A window of the day, start inclusive, end exclusive, in minutes since midnight. A window
/// whose end is before its start crosses midnight (`22:00-06:00`); the day it is checked against
/// is the day of the moment checked, so `days = ["fri"]`, `hours = "22:00-06:00"` holds late on
/// Friday evening and early on Friday morning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeWindow {
    start: u16,
    end: u16,
}

impl TimeWindow {
    /// Parses `HH:MM-HH:MM` (`24:00` allowed as an end); `None` for anything else or an empty
    /// window.
    pub fn parse(text: &str) -> Option<Self> {
        let (start, end) = text.split_once('-')?;
        let start = minute_of_day(start.trim(), false)?;
        let end = minute_of_day(end.trim(), true)?;
        (start != end).then_some(TimeWindow { start, end })
    }

    /// Whether `minute_of_day` falls inside.
    pub fn contains(self, minute_of_day: u16) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&minute_of_day)
        } else {
            minute_of_day >= self.start || minute_of_day < self.end
        }
    }
}

fn minute_of_day(text: &str, end: bool) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: u16 = parse_digits(hours)?;
    let minutes: u16 = parse_digits(minutes)?;
    if minutes >= 60 || hours > 24 || (hours == 24 && (minutes != 0 || !end)) {
        return None;
    }
    Some(hours * 60 + minutes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn epoch_is_a_thursday_at_midnight() {
        let local = UtcOffset::UTC.local(at(0));
        assert_eq!(local.weekday, Weekday::Thu);
        assert_eq!(local.minute_of_day, 0);
    }

    #[test]
    fn offset_moves_the_local_day() {
        // 2026-11-23 (a Monday) 23:30 UTC is Tuesday 00:30 at +01:00, Monday 18:30 at -05:00.
        let t = at(1_795_476_600);
        assert_eq!(UtcOffset::UTC.local(t).weekday, Weekday::Mon);
        assert_eq!(UtcOffset::UTC.local(t).minute_of_day, 23 * 60 + 30);
        let paris = UtcOffset::parse("+01:00").unwrap().local(t);
        assert_eq!((paris.weekday, paris.minute_of_day), (Weekday::Tue, 30));
        let new_york = UtcOffset::parse("-05:00").unwrap().local(t);
        assert_eq!(
            (new_york.weekday, new_york.minute_of_day),
            (Weekday::Mon, 18 * 60 + 30)
        );
    }

    #[test]
    fn offsets_outside_fourteen_hours_or_malformed_are_refused() {
        assert_eq!(
            UtcOffset::parse("+14:00").map(UtcOffset::seconds),
            Some(50_400)
        );
        assert_eq!(
            UtcOffset::parse("-05:30").map(UtcOffset::seconds),
            Some(-19_800)
        );
        for bad in ["+14:30", "01:00", "+1:00", "+01:60", "+01", "", "+ab:00"] {
            assert_eq!(UtcOffset::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn day_ranges_wrap_over_the_weekend() {
        let set = DaySet::empty().with_days("fri-mon").unwrap();
        for day in [Weekday::Fri, Weekday::Sat, Weekday::Sun, Weekday::Mon] {
            assert!(set.contains(day));
        }
        assert!(!set.contains(Weekday::Tue));
        assert_eq!(DaySet::empty().with_days("mon-sun"), Some(DaySet::ALL));
        assert_eq!(DaySet::empty().with_days("monday"), None);
    }

    #[test]
    fn windows_are_half_open_and_may_cross_midnight() {
        let office = TimeWindow::parse("09:00-17:30").unwrap();
        assert!(office.contains(9 * 60));
        assert!(office.contains(17 * 60 + 29));
        assert!(!office.contains(17 * 60 + 30));
        let night = TimeWindow::parse("22:00-06:00").unwrap();
        assert!(night.contains(23 * 60));
        assert!(night.contains(5 * 60));
        assert!(!night.contains(12 * 60));
        assert!(TimeWindow::parse("00:00-24:00").unwrap().contains(1439));
        for bad in [
            "09:00",
            "9:00-17:00",
            "09:00-09:00",
            "24:00-05:00",
            "09:00-25:00",
        ] {
            assert_eq!(TimeWindow::parse(bad), None, "{bad}");
        }
    }
}
