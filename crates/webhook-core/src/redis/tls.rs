//! The TLS settings of a `rediss://` connection (feature `redis-tls`).

use super::{RedisError, RedisErrorKind};

/// The TLS settings of a `rediss://` connection beyond the system's defaults.
#[derive(Default)]
pub(super) struct RedisTls {
    /// PEM certificates trusted instead of the system's roots.
    pub(super) root_ca: Option<Vec<u8>>,
    /// PEM certificate chain and private key presented to the server.
    pub(super) client: Option<(Vec<u8>, zeroize::Zeroizing<Vec<u8>>)>,
}

impl RedisTls {
    /// The certificates for the `redis` crate, `None` when nothing is configured; an
    /// error when a PEM text holds no certificate (the `redis` crate would quietly
    /// trust nothing, or present nothing).
    pub(super) fn certificates(&self) -> Result<Option<redis::TlsCertificates>, RedisError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;

        let holds_certificates = |pem: &[u8]| {
            let mut certificates = CertificateDer::pem_slice_iter(pem);
            matches!(certificates.next(), Some(Ok(_))) && certificates.all(|c| c.is_ok())
        };
        for (what, pem) in [
            ("the TLS root CA", self.root_ca.as_deref()),
            (
                "the TLS client certificate",
                self.client.as_ref().map(|(cert, _)| cert.as_slice()),
            ),
        ] {
            if pem.is_some_and(|pem| !holds_certificates(pem)) {
                return Err(RedisError::new(
                    RedisErrorKind::Other,
                    format!("{what} is not a PEM certificate"),
                ));
            }
        }
        if let Some((_, key)) = &self.client {
            if rustls::pki_types::PrivateKeyDer::from_pem_slice(key).is_err() {
                return Err(RedisError::new(
                    RedisErrorKind::Other,
                    "the TLS client key is not a PEM private key",
                ));
            }
        }
        if self.root_ca.is_none() && self.client.is_none() {
            return Ok(None);
        }
        Ok(Some(redis::TlsCertificates {
            client_tls: self
                .client
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.to_vec(),
                }),
            root_cert: self.root_ca.clone(),
        }))
    }
}

/// Installs ring as the process's rustls crypto provider unless one is installed:
/// without one, rustls cannot tell which provider to use when several are compiled in.
pub(super) fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // ring rather than aws-lc-rs: no C build toolchain beyond a C compiler, and a
        // small build; it has no post-quantum key exchange, which rustls deprecates it for.
        #[allow(deprecated)]
        let provider = rustls::crypto::ring::default_provider();
        // Losing a race to another installer leaves that one in place, which is as good.
        let _ = provider.install_default();
    }
}
