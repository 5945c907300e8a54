//! Private keys in a TLS Secret's `tls.key`: PKCS#1 RSA, PKCS#8 (RSA, EC, Ed25519) and SEC1 EC,
//! reduced to the public key they belong to, so that it can be compared with a certificate's.

use crate::der::{self, BIT_STRING, INTEGER, OCTET_STRING, OID, Tlv};
use crate::pem;

/// `rsaEncryption` (1.2.840.113549.1.1.1).
const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// `id-RSASSA-PSS` (1.2.840.113549.1.1.10).
const RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
/// `id-ecPublicKey` (1.2.840.10045.2.1).
const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// `id-Ed25519` (1.3.101.112).
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// What a private key tells about its public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Public {
    /// RSA: modulus and public exponent, without leading zeros.
    Rsa {
        /// n.
        modulus: Vec<u8>,
        /// e.
        exponent: Vec<u8>,
    },
    /// EC: the public point as a certificate carries it, when the key file includes it.
    Ec(Option<Vec<u8>>),
    /// A key type this crate does not compare (Ed25519, ...).
    Other(&'static str),
}

/// A private key, parsed.
#[derive(Debug, Clone)]
pub struct PrivateKey {
    /// `PKCS#1 RSA`, `PKCS#8 RSA`, `PKCS#8 EC`, `SEC1 EC`, ...
    pub format: &'static str,
    /// Its public half, as far as known.
    pub public: Public,
}

/// Why `tls.key` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No PEM block at all.
    #[error("holds no PEM block (expected a `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block)")]
    NotPem,
    /// PEM, but not valid.
    #[error("is not valid PEM: {0}")]
    BadPem(String),
    /// No private-key block among the PEM blocks.
    #[error("holds PEM blocks but no private key (found: {0})")]
    NoKey(String),
    /// An encrypted PKCS#8 key, which ingress controllers cannot use.
    #[error("holds an encrypted private key, which ingress controllers cannot read")]
    Encrypted,
    /// The key's DER does not parse.
    #[error("holds a `{0}` block whose content is not a valid key")]
    BadKey(String),
}

/// Parses the first private key in `pem_text`.
pub fn parse(pem_text: &[u8]) -> Result<PrivateKey, KeyError> {
    let blocks = pem::blocks(pem_text).map_err(|e| match e {
        pem::PemError::None => KeyError::NotPem,
        pem::PemError::Invalid(why) => KeyError::BadPem(why),
    })?;
    let Some(block) = blocks.iter().find(|b| b.label.ends_with("PRIVATE KEY")) else {
        let labels: Vec<&str> = blocks.iter().map(|b| b.label.as_str()).collect();
        return Err(KeyError::NoKey(labels.join(", ")));
    };
    let bad = || KeyError::BadKey(block.label.clone());
    match block.label.as_str() {
        "RSA PRIVATE KEY" => pkcs1(&block.contents).map(|public| PrivateKey { format: "PKCS#1 RSA", public }).ok_or_else(bad),
        "EC PRIVATE KEY" => sec1(&block.contents).map(|public| PrivateKey { format: "SEC1 EC", public }).ok_or_else(bad),
        "PRIVATE KEY" => pkcs8(&block.contents).ok_or_else(bad),
        "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
        _ => Err(bad()),
    }
}

/// RSAPrivateKey (RFC 8017 A.1.2): version, n, e, ...
fn pkcs1(der: &[u8]) -> Option<Public> {
    let items = der::sequence(der)?;
    let [version, n, e, ..] = items.as_slice() else { return None };
    [version, n, e]
        .iter()
        .all(|i| i.tag == INTEGER)
        .then(|| Public::Rsa { modulus: der::magnitude(n.content).to_vec(), exponent: der::magnitude(e.content).to_vec() })
}

/// ECPrivateKey (RFC 5915): version 1, privateKey, [0] parameters, [1] publicKey.
fn sec1(der: &[u8]) -> Option<Public> {
    let items = der::sequence(der)?;
    let [version, private, rest @ ..] = items.as_slice() else { return None };
    if version.tag != INTEGER || private.tag != OCTET_STRING {
        return None;
    }
    let point = rest.iter().find(|t| t.tag == 0xa1).and_then(|t| der::read(t.content)).and_then(|(bits, _)| bit_string(bits));
    Some(Public::Ec(point))
}

/// PrivateKeyInfo / OneAsymmetricKey (RFC 5208, RFC 5958): version, algorithm, privateKey, ...
fn pkcs8(der: &[u8]) -> Option<PrivateKey> {
    let items = der::sequence(der)?;
    let [version, algorithm, private, ..] = items.as_slice() else { return None };
    if version.tag != INTEGER || private.tag != OCTET_STRING {
        return None;
    }
    let oid = der::elements(algorithm.content)?.into_iter().find(|t| t.tag == OID)?.content;
    match oid {
        o if o == RSA || o == RSA_PSS => pkcs1(private.content).map(|public| PrivateKey { format: "PKCS#8 RSA", public }),
        o if o == EC => sec1(private.content).map(|public| PrivateKey { format: "PKCS#8 EC", public }),
        o if o == ED25519 => Some(PrivateKey { format: "PKCS#8 Ed25519", public: Public::Other("Ed25519") }),
        _ => Some(PrivateKey { format: "PKCS#8", public: Public::Other("an unknown algorithm") }),
    }
}

/// A BIT STRING's bits, when it has no unused bits.
fn bit_string(tlv: Tlv<'_>) -> Option<Vec<u8>> {
    let (&unused, bits) = tlv.content.split_first()?;
    (tlv.tag == BIT_STRING && unused == 0).then(|| bits.to_vec())
}

/// The public key a certificate carries, in the same terms: `algorithm` is the SPKI's
/// algorithm OID (DER content), `key` the subjectPublicKey bits.
pub fn certificate_public(algorithm: &[u8], key: &[u8]) -> Public {
    match algorithm {
        o if o == RSA || o == RSA_PSS => match der::sequence(key).as_deref() {
            Some([n, e, ..]) => Public::Rsa { modulus: der::magnitude(n.content).to_vec(), exponent: der::magnitude(e.content).to_vec() },
            _ => Public::Other("a malformed RSA key"),
        },
        o if o == EC => Public::Ec(Some(key.to_vec())),
        o if o == ED25519 => Public::Other("Ed25519"),
        _ => Public::Other("an unknown algorithm"),
    }
}

/// Whether the private key belongs to the certificate's public key; `None` when this cannot be told.
pub fn matches(private: &Public, certificate: &Public) -> Option<bool> {
    match (private, certificate) {
        (Public::Rsa { .. }, Public::Rsa { .. }) => Some(private == certificate),
        (Public::Ec(Some(a)), Public::Ec(Some(b))) => Some(a == b),
        (Public::Ec(None), Public::Ec(_)) | (Public::Other(_), _) | (_, Public::Other(_)) => None,
        _ => Some(false),
    }
}
