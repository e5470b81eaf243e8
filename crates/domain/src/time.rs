//! UTC instants with microsecond precision, written as RFC 3339 with a `Z`
//! (`2026-01-31T12:00:00.123456Z`), the form clients read unambiguously.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Microseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        Timestamp(micros)
    }

    pub fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// (year, month, day, hour, minute, second, nanosecond), as Spin's PostgreSQL
    /// interface carries a `timestamp`.
    pub fn to_civil(self) -> (i32, u8, u8, u8, u8, u8, u32) {
        let days = self.0.div_euclid(MICROS_PER_DAY);
        let in_day = self.0.rem_euclid(MICROS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let seconds = in_day / 1_000_000;
        (
            y,
            m,
            d,
            (seconds / 3600) as u8,
            (seconds / 60 % 60) as u8,
            (seconds % 60) as u8,
            (in_day % 1_000_000) as u32 * 1000,
        )
    }

    pub fn from_civil(y: i32, m: u8, d: u8, hh: u8, mm: u8, ss: u8, ns: u32) -> Timestamp {
        let days = days_from_civil(y, m, d);
        let seconds = i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss);
        Timestamp(days * MICROS_PER_DAY + seconds * 1_000_000 + i64::from(ns / 1000))
    }

    /// Reads `YYYY-MM-DDTHH:MM:SS[.ffffff][Z]` (what this service writes).
    pub fn parse(text: &str) -> Option<Timestamp> {
        let text = text.trim_end_matches('Z');
        let (date, time) = text.split_once(['T', ' '])?;
        let mut date_parts = date.splitn(3, '-');
        let y: i32 = date_parts.next()?.parse().ok()?;
        let m: u8 = date_parts.next()?.parse().ok()?;
        let d: u8 = date_parts.next()?.parse().ok()?;
        let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
        let mut time_parts = hms.splitn(3, ':');
        let hh: u8 = time_parts.next()?.parse().ok()?;
        let mm: u8 = time_parts.next()?.parse().ok()?;
        let ss: u8 = time_parts.next()?.parse().ok()?;
        let mut ns: u32 = 0;
        for (i, c) in fraction.chars().take(9).enumerate() {
            ns += c.to_digit(10)? * 10u32.pow(8 - i as u32);
        }
        Some(Timestamp::from_civil(y, m, d, hh, mm, ss, ns))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d, hh, mm, ss, ns) = self.to_civil();
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:06}Z",
            ns / 1000
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Days since 1970-01-01 → proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_utc_with_micros() {
        assert_eq!(
            Timestamp::from_micros(0).to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        let t = Timestamp::parse("2026-01-31T12:00:00.123456Z").unwrap();
        assert_eq!(t.to_string(), "2026-01-31T12:00:00.123456Z");
        assert_eq!(
            Timestamp::parse("2024-02-29T23:59:59").unwrap().to_string(),
            "2024-02-29T23:59:59.000000Z"
        );
    }

    #[test]
    fn civil_round_trip() {
        for micros in [0, 1, -1, 1_767_225_600_123_456, 4_102_444_800_000_000] {
            let t = Timestamp::from_micros(micros);
            let (y, m, d, hh, mm, ss, ns) = t.to_civil();
            assert_eq!(Timestamp::from_civil(y, m, d, hh, mm, ss, ns), t);
        }
    }
}
