//! Kubernetes quantities (`1Gi`, `500M`, `250m`, `1.5e9`) as numbers, for comparing claim
//! sizes, CPU and memory requests with what a cluster has.

/// Binary, decimal and fractional suffixes with their factors (two-letter ones first).
const SUFFIXES: [(&str, f64); 15] = [
    ("Ki", 1024.0),
    ("Mi", 1048576.0),
    ("Gi", 1073741824.0),
    ("Ti", 1099511627776.0),
    ("Pi", 1125899906842624.0),
    ("Ei", 1152921504606846976.0),
    ("n", 1e-9),
    ("u", 1e-6),
    ("m", 1e-3),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
    ("E", 1e18),
];

/// The value of a quantity (`250m` is 0.25, `1Ki` is 1024); `None` when it is not a
/// non-negative quantity.
pub fn value_of(quantity: &str) -> Option<f64> {
    let text = quantity.trim();
    let (number, factor) = SUFFIXES.iter().find_map(|(suffix, factor)| text.strip_suffix(suffix).map(|n| (n, *factor))).unwrap_or((text, 1.0));
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some(value * factor)
}

/// The bytes of a quantity, rounded up; `None` when it is not a quantity.
pub fn bytes_of(quantity: &str) -> Option<u64> {
    value_of(quantity).map(|value| value.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::{bytes_of, value_of};

    #[test]
    fn quantities_are_read_like_kubernetes_reads_them() {
        assert_eq!(bytes_of("1Gi"), Some(1 << 30));
        assert_eq!(bytes_of("100Mi"), Some(100 << 20));
        assert_eq!(bytes_of("1.5Gi"), Some(3 << 29));
        assert_eq!(bytes_of("2G"), Some(2_000_000_000));
        assert_eq!(bytes_of("1e3"), Some(1000));
        assert_eq!(bytes_of("123"), Some(123));
        assert_eq!(bytes_of("lots"), None);
        assert_eq!(bytes_of("-1Gi"), None);
        assert_eq!(value_of("250m"), Some(0.25));
        assert_eq!(value_of("2"), Some(2.0));
        assert_eq!(value_of("1500000u"), Some(1.5));
    }
}
