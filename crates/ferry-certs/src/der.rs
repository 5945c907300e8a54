//! The little DER reading private keys need: tag, length, content.

/// One DER element.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    /// The tag byte (`0x30` SEQUENCE, `0x02` INTEGER, `0x04` OCTET STRING, `0xA1` `[1]`, ...).
    pub tag: u8,
    /// The content octets.
    pub content: &'a [u8],
}

/// SEQUENCE.
pub const SEQUENCE: u8 = 0x30;
/// INTEGER.
pub const INTEGER: u8 = 0x02;
/// OCTET STRING.
pub const OCTET_STRING: u8 = 0x04;
/// BIT STRING.
pub const BIT_STRING: u8 = 0x03;
/// OBJECT IDENTIFIER.
pub const OID: u8 = 0x06;

/// The first element of `input` and what follows it, or `None` if it is not DER.
pub fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count].iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (length, &rest[count..])
    };
    (rest.len() >= length).then(|| (Tlv { tag, content: &rest[..length] }, &rest[length..]))
}

/// The elements of a SEQUENCE that is the whole of `input`.
pub fn sequence(input: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let (outer, rest) = read(input)?;
    if outer.tag != SEQUENCE || !rest.is_empty() {
        return None;
    }
    elements(outer.content)
}

/// Every element in `content`.
pub fn elements(mut content: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut items = Vec::new();
    while !content.is_empty() {
        let (item, rest) = read(content)?;
        items.push(item);
        content = rest;
    }
    Some(items)
}

/// An unsigned INTEGER's magnitude, without leading zero octets.
pub fn magnitude(content: &[u8]) -> &[u8] {
    let start = content.iter().position(|&b| b != 0).unwrap_or(content.len());
    &content[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths_and_refuses_truncation() {
        let (tlv, rest) = read(&[0x02, 0x01, 0x05, 0xff]).unwrap();
        assert_eq!((tlv.tag, tlv.content, rest), (INTEGER, &[5u8][..], &[0xffu8][..]));
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 128]);
        assert_eq!(read(&long).unwrap().0.content.len(), 128);
        assert!(read(&[0x04, 0x05, 1, 2]).is_none());
        assert!(read(&[0x04, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert!(sequence(b"garbage").is_none());
        assert_eq!(magnitude(&[0, 0, 1, 0]), &[1, 0]);
    }
}
