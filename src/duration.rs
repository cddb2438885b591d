//! Durations as people type them: `250ms`, `5s`, `1.5s`, `2m`, or a bare
//! number of seconds. One grammar for every duration flag
//! (`cmd::values::parse_duration`) and every duration in a config file
//! (`probe --serve`'s modules).

use std::time::Duration;

/// The duration `text` says, from 0 to a year; `None` when it says none.
pub(crate) fn parse(text: &str) -> Option<Duration> {
    let (num, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: f64 = num.trim().parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return None,
    };
    (0.0..=86_400.0 * 365.0)
        .contains(&secs)
        .then(|| Duration::from_secs_f64(secs))
}

/// A duration as [`parse`] reads it back, the one formatter of every
/// duration flag's default in `--help`: whole minutes from two up as `5m`,
/// whole seconds as `5s` (`60s`, `90s`), the rest in milliseconds (`250ms`,
/// `1500ms`).
pub(crate) fn show(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 60_000 == 0 && ms >= 120_000 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_reads_back() {
        for (d, t) in [
            (Duration::from_secs(5), "5s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_millis(1500), "1500ms"),
            (Duration::from_secs(60), "60s"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(300), "5m"),
            (Duration::ZERO, "0s"),
        ] {
            assert_eq!(show(d), t);
            assert_eq!(parse(t), Some(d));
        }
    }

    #[test]
    fn units_and_bounds() {
        assert_eq!(parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse("0"), Some(Duration::ZERO));
        for bad in ["", "s", "-1s", "1h", "NaN", "inf", "1e30"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
