//! Wall-clock formatting for log lines (RFC 3339, UTC) and HTTP `Date:`
//! headers (RFC 9110 IMF-fixdate). Two formats do not justify a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Civil date and time in UTC.
struct Utc {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    micros: u32,
    weekday: u32, // 0 = Sunday
}

fn utc(t: SystemTime) -> Utc {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    utc_at(d.as_secs() as i64, d.subsec_nanos())
}

/// `secs` (since the epoch, UTC) and `nanos` in civil time.
fn utc_at(secs: i64, nanos: u32) -> Utc {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    // Howard Hinnant's days_from_civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Utc {
        year,
        month,
        day,
        hour: rem / 3600,
        min: rem / 60 % 60,
        sec: rem % 60,
        micros: nanos / 1000,
        weekday: (days + 4).rem_euclid(7) as u32,
    }
}

/// `2026-11-24T19:05:10.123456Z`: every `time` of ppctl's JSON (listen,
/// relay, pcap) has this one form.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    format_rfc3339(&utc(t))
}

/// [`rfc3339`] of an instant given as seconds since the epoch and
/// nanoseconds (a capture's timestamp).
pub(crate) fn rfc3339_at(secs: i64, nanos: u32) -> String {
    format_rfc3339(&utc_at(secs, nanos))
}

/// `19:05:10.123`: [`rfc3339`]'s time of day to the millisecond (a
/// server's line starts with it), written into `out` without the whole
/// timestamp and `fmt`'s padding: it is said once per connection.
pub(crate) fn push_time_of_day(out: &mut String, t: SystemTime) {
    let u = utc(t);
    let ms = u.micros / 1000;
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let text = [
        digit(u.hour / 10),
        digit(u.hour),
        b':',
        digit(u.min / 10),
        digit(u.min),
        b':',
        digit(u.sec / 10),
        digit(u.sec),
        b'.',
        digit(ms / 100),
        digit(ms / 10),
        digit(ms),
    ];
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

/// Built on the stack and pushed once, not by `format!`: a server's
/// `--json` line says it once per connection, and `fmt`'s padding of seven
/// numbers cost as much as the rest of the line's numbers
/// (docs/performance.md). A year `fmt` would pad differently (before 0 or
/// after 9999, only from a capture's odd timestamp) goes through `fmt`.
fn format_rfc3339(u: &Utc) -> String {
    let Ok(year) = u32::try_from(u.year) else {
        return format_rfc3339_fmt(u);
    };
    if year > 9999 {
        return format_rfc3339_fmt(u);
    }
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    for (i, n) in [year / 1000, year / 100, year / 10, year]
        .into_iter()
        .enumerate()
    {
        text[i] = digit(n);
    }
    for (at, n) in [
        (5, u.month),
        (8, u.day),
        (11, u.hour),
        (14, u.min),
        (17, u.sec),
    ] {
        text[at] = digit(n / 10);
        text[at + 1] = digit(n);
    }
    let mut micros = u.micros;
    for at in (20..26).rev() {
        text[at] = digit(micros);
        micros /= 10;
    }
    std::str::from_utf8(&text)
        .map(str::to_owned)
        .unwrap_or_else(|_| format_rfc3339_fmt(u))
}

fn format_rfc3339_fmt(u: &Utc) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        u.year, u.month, u.day, u.hour, u.min, u.sec, u.micros
    )
}

/// `Tue, 24 Nov 2026 19:05:10 GMT`
pub(crate) fn http_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let u = utc(t);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[u.weekday as usize % 7],
        u.day,
        MONTHS[(u.month as usize + 11) % 12],
        u.year,
        u.hour,
        u.min,
        u.sec
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_547_110_123);
        assert_eq!(rfc3339(t), "2026-11-24T19:05:10.123000Z");
        assert_eq!(
            rfc3339_at(1_795_547_110, 123_456_789),
            "2026-11-24T19:05:10.123456Z"
        );
        assert_eq!(http_date(t), "Tue, 24 Nov 2026 19:05:10 GMT");
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000000Z");
    }

    /// The timestamp built by hand is `fmt`'s, byte for byte.
    #[test]
    fn rfc3339_is_fmts() {
        for secs in [
            -62_135_596_800, // 0001-01-01
            -1,
            0,
            951_782_400,
            1_795_547_110,
            253_402_300_799, // 9999-12-31T23:59:59
            253_402_300_800, // 10000-01-01: `fmt`'s own
            -62_167_219_201, // year -1: `fmt`'s own
        ] {
            for nanos in [0, 1_000, 999_999_999, 123_456_789] {
                let u = utc_at(secs, nanos);
                assert_eq!(format_rfc3339(&u), format_rfc3339_fmt(&u), "{secs} {nanos}");
            }
        }
    }

    #[test]
    fn the_time_of_day_is_rfc3339_s() {
        for nanos in [0, 999_999, 1_000_000, 123_456_789, 999_999_999] {
            for secs in [0, 59, 3_599, 86_399, 1_795_547_110] {
                let t = UNIX_EPOCH + Duration::new(secs, nanos);
                let mut day = String::new();
                push_time_of_day(&mut day, t);
                assert_eq!(day, rfc3339(t)[11..23]);
            }
        }
    }
}
