//! Go durations as cert-manager writes them (`2160h0m0s`, `720h`, `90m`, `1.5h`), and
//! times written as RFC 3339.

/// Seconds in a Go duration string, or `None` if it is not one.
pub fn seconds(text: &str) -> Option<i64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0_f64;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += number * unit;
        rest = &rest[unit_end..];
    }
    Some(total as i64)
}

/// `seconds` since the Unix epoch as RFC 3339 in UTC, e.g. `2026-03-01T12:00:00Z`.
pub fn rfc3339(seconds: i64) -> String {
    let (days, time) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", time / 3600, time % 3600 / 60, time % 60)
}

#[cfg(test)]
mod tests {
    use super::{rfc3339, seconds};

    #[test]
    fn writes_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_772_366_400), "2026-03-01T12:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn reads_what_cert_manager_writes() {
        assert_eq!(seconds("2160h0m0s"), Some(2160 * 3600));
        assert_eq!(seconds("720h"), Some(720 * 3600));
        assert_eq!(seconds("1.5h"), Some(5400));
        assert_eq!(seconds("90m30s"), Some(5430));
        assert_eq!(seconds("3d"), None);
        assert_eq!(seconds(""), None);
        assert_eq!(seconds("h"), None);
    }
}
