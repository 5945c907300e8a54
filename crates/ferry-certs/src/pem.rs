//! PEM blocks (RFC 7468) of `tls.crt`, `tls.key`, `ca.crt` and CA bundles.

use x509_parser::pem::Pem;

/// Why text holds no usable PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemError {
    /// Not one `-----BEGIN` line.
    None,
    /// A block that does not decode; the reason never quotes the content.
    Invalid(String),
}

/// Every PEM block in `text`, in order.
pub fn blocks(text: &[u8]) -> Result<Vec<Pem>, PemError> {
    let mut blocks = Vec::new();
    for (index, block) in Pem::iter_from_buffer(text).enumerate() {
        match block {
            Ok(block) => blocks.push(block),
            Err(x509_parser::error::PEMError::MissingHeader) if !blocks.is_empty() => break,
            Err(x509_parser::error::PEMError::MissingHeader) => return Err(PemError::None),
            Err(error) => return Err(PemError::Invalid(format!("block {} does not decode ({})", index + 1, describe(&error)))),
        }
    }
    if blocks.is_empty() { Err(PemError::None) } else { Ok(blocks) }
}

/// The kind of PEM error, without any of the text it was found in.
fn describe(error: &x509_parser::error::PEMError) -> &'static str {
    use x509_parser::error::PEMError;
    match error {
        PEMError::Base64DecodeError => "invalid base64",
        PEMError::MissingHeader => "no BEGIN line",
        PEMError::IncompletePEM => "no END line",
        PEMError::InvalidHeader => "a malformed BEGIN line",
        PEMError::IOError(_) => "unreadable",
    }
}
