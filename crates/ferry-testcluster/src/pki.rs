//! Test certificates made with rcgen: a throw-away root CA and server certificates it signs
//! (valid 2025 to 2036, or expired in 2020), and self-signed ones, each as the PEM a TLS
//! server loads (the chain, then the private key).

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd};

use crate::Error;

/// A root CA for tests.
pub struct TestPki {
    root: CertifiedIssuer<'static, KeyPair>,
}

fn failed(e: rcgen::Error) -> Error {
    Error::NotReady(format!("making a test certificate: {e}"))
}

impl TestPki {
    /// A new root CA, `CN=ferry test root`.
    pub fn new() -> Result<TestPki, Error> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "ferry test root");
        Ok(TestPki { root: CertifiedIssuer::self_signed(params, KeyPair::generate().map_err(failed)?).map_err(failed)? })
    }

    /// The root certificate (PEM), for a CA bundle.
    pub fn root_pem(&self) -> String {
        self.root.pem()
    }

    /// A certificate for `name` signed by the root, valid 2025-2036 (or 2019-2020 when `expired`): leaf, root, key.
    pub fn leaf(&self, name: &str, expired: bool) -> Result<String, Error> {
        let key = KeyPair::generate().map_err(failed)?;
        Ok(params(name, expired)?.signed_by(&key, &self.root).map_err(failed)?.pem() + &self.root.pem() + &key.serialize_pem())
    }

    /// A self-signed certificate for `name`, valid 2025-2036: certificate, key.
    pub fn self_signed(name: &str) -> Result<String, Error> {
        let key = KeyPair::generate().map_err(failed)?;
        Ok(params(name, false)?.self_signed(&key).map_err(failed)?.pem() + &key.serialize_pem())
    }
}

/// A server certificate's parameters: `name` as subjectAltName and CN.
fn params(name: &str, expired: bool) -> Result<CertificateParams, Error> {
    let mut params = CertificateParams::new(vec![name.to_owned()]).map_err(failed)?;
    params.distinguished_name.push(DnType::CommonName, name);
    (params.not_before, params.not_after) =
        if expired { (date_time_ymd(2019, 1, 1), date_time_ymd(2020, 1, 1)) } else { (date_time_ymd(2025, 1, 1), date_time_ymd(2036, 1, 1)) };
    Ok(params)
}
