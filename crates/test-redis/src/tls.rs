//! Certificates made at run time for a TLS `redis-server` and its clients (feature
//! `tls`): no private key is ever committed.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

use crate::host::temp_dir;

/// A throwaway certificate authority, a server certificate it signed for `127.0.0.1`
/// and `localhost`, and a client certificate it signed, as PEM text and as files in a
/// temporary directory removed on drop.
///
/// Start a server with [`RedisServerBuilder::tls`](crate::RedisServerBuilder::tls);
/// hand [`ca_pem`](Self::ca_pem) to the client as the root to trust, and
/// [`client_cert_pem`](Self::client_cert_pem) with
/// [`client_key_pem`](Self::client_key_pem) when the server asks for a client
/// certificate. A second `TestCertificates` is another authority, which the first
/// one's server does not trust and whose clients it refuses: the wrong CA.
///
/// ```no_run
/// use test_redis::{ClientAuth, RedisServer, TestCertificates};
///
/// let certificates = TestCertificates::generate();
/// let server = RedisServer::builder().tls(&certificates, ClientAuth::Optional).start();
/// println!("connect to {} trusting {:?}", server.tls_url().unwrap(), certificates.ca_file());
/// ```
pub struct TestCertificates {
    dir: PathBuf,
    ca_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

/// The names of the files in a [`TestCertificates`] directory.
const CA_FILE: &str = "ca.pem";
const SERVER_CERT_FILE: &str = "server.pem";
const SERVER_KEY_FILE: &str = "server.key";
const CLIENT_CERT_FILE: &str = "client.pem";
const CLIENT_KEY_FILE: &str = "client.key";

impl TestCertificates {
    /// Makes a new authority and the two certificates it signs (ECDSA P-256).
    ///
    /// # Panics
    ///
    /// When a key or a certificate cannot be made, or the files cannot be written.
    pub fn generate() -> Self {
        Self::try_generate()
            .unwrap_or_else(|error| panic!("cannot make test certificates: {error}"))
    }

    /// Makes the certificates like [`generate`](Self::generate), returning the error
    /// instead of panicking.
    pub fn try_generate() -> io::Result<Self> {
        let dir = temp_dir()?;
        // A name of its own: another authority's certificates are unknown, not forged.
        let ca_name = format!("test-redis CA {}", dir.display());
        let ca_key = KeyPair::generate().map_err(io::Error::other)?;
        let mut ca_params = CertificateParams::new(Vec::new()).map_err(io::Error::other)?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, ca_name);
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca_params.self_signed(&ca_key).map_err(io::Error::other)?;

        // The server certificate also serves as a client one on a cluster's bus.
        let (server_cert, server_key) = leaf(
            vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
            "test-redis server",
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
            &ca,
            &ca_key,
        )?;
        let (client_cert, client_key) = leaf(
            Vec::new(),
            "test-redis client",
            vec![ExtendedKeyUsagePurpose::ClientAuth],
            &ca,
            &ca_key,
        )?;

        let certificates = Self {
            dir,
            ca_pem: ca.pem(),
            client_cert_pem: client_cert,
            client_key_pem: client_key,
        };
        let files = [
            (CA_FILE, certificates.ca_pem.as_str()),
            (SERVER_CERT_FILE, server_cert.as_str()),
            (SERVER_KEY_FILE, server_key.as_str()),
            (CLIENT_CERT_FILE, certificates.client_cert_pem.as_str()),
            (CLIENT_KEY_FILE, certificates.client_key_pem.as_str()),
        ];
        for (name, pem) in files {
            std::fs::write(certificates.dir.join(name), pem)?;
        }
        Ok(certificates)
    }

    /// The authority's certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The client certificate, PEM.
    pub fn client_cert_pem(&self) -> &str {
        &self.client_cert_pem
    }

    /// The client certificate's private key, PEM (PKCS#8).
    pub fn client_key_pem(&self) -> &str {
        &self.client_key_pem
    }

    /// The file holding [`ca_pem`](Self::ca_pem).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join(CA_FILE)
    }

    /// The file holding [`client_cert_pem`](Self::client_cert_pem).
    pub fn client_cert_file(&self) -> PathBuf {
        self.dir.join(CLIENT_CERT_FILE)
    }

    /// The file holding [`client_key_pem`](Self::client_key_pem).
    pub fn client_key_file(&self) -> PathBuf {
        self.dir.join(CLIENT_KEY_FILE)
    }

    /// The server certificate's file.
    pub(crate) fn server_cert_file(&self) -> PathBuf {
        self.dir.join(SERVER_CERT_FILE)
    }

    /// The server key's file.
    pub(crate) fn server_key_file(&self) -> PathBuf {
        self.dir.join(SERVER_KEY_FILE)
    }

    /// The directory of the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A certificate for `names` signed by the authority, and its private key, both PEM.
fn leaf(
    names: Vec<String>,
    common_name: &str,
    usages: Vec<ExtendedKeyUsagePurpose>,
    ca: &rcgen::Certificate,
    ca_key: &KeyPair,
) -> io::Result<(String, String)> {
    let key = KeyPair::generate().map_err(io::Error::other)?;
    let mut params = CertificateParams::new(names).map_err(io::Error::other)?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = usages;
    let certificate = params
        .signed_by(&key, ca, ca_key)
        .map_err(io::Error::other)?;
    Ok((certificate.pem(), key.serialize_pem()))
}

impl fmt::Debug for TestCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCertificates")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Drop for TestCertificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a TLS server asks its clients for a certificate (`--tls-auth-clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// A client may present a certificate, which is then checked; none is needed.
    Optional,
    /// A client without a certificate signed by the authority is refused.
    Required,
}

impl ClientAuth {
    pub(crate) fn as_arg(self) -> &'static str {
        match self {
            Self::Optional => "optional",
            Self::Required => "yes",
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{RedisServer, Reply};

    use super::*;

    #[test]
    fn a_tls_server_listens_on_its_tls_port_with_the_files_written() {
        let certificates = TestCertificates::generate();
        for file in [
            certificates.ca_file(),
            certificates.client_cert_file(),
            certificates.client_key_file(),
        ] {
            let pem = std::fs::read_to_string(&file).unwrap();
            assert!(pem.starts_with("-----BEGIN "), "{}", file.display());
        }
        assert!(certificates.client_key_pem().contains("PRIVATE KEY"));
        assert!(!format!("{certificates:?}").contains("PRIVATE KEY"));

        let server = RedisServer::builder()
            .tls(&certificates, ClientAuth::Required)
            .start();
        let url = server.tls_url().unwrap();
        let port = url
            .strip_prefix("rediss://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap();
        let reply = server.command(&["CONFIG", "GET", "tls-port"]).unwrap();
        let Reply::Array(Some(fields)) = reply else {
            panic!("CONFIG GET answered {reply:?}");
        };
        assert_eq!(fields[1].as_text().as_deref(), Some(port));
        let reply = server
            .command(&["CONFIG", "GET", "tls-auth-clients"])
            .unwrap();
        let Reply::Array(Some(fields)) = reply else {
            panic!("CONFIG GET answered {reply:?}");
        };
        assert_eq!(fields[1].as_text().as_deref(), Some("yes"));

        let dir = certificates.dir().to_owned();
        drop(certificates);
        assert!(!dir.exists());
    }
}
