//! Fixed key pairs for the schemes with asymmetric signatures.

use std::fmt;

use base64::Engine as _;
use webhook_signature::scheme::{Algorithm, PrivateKey, PublicKey};
use zeroize::Zeroizing;

/// The DER `SubjectPublicKeyInfo` header of an uncompressed P-256 point: the
/// algorithm identifiers (`id-ecPublicKey`, `prime256v1`) and the bit string's tag,
/// length and unused-bits byte. The 65-byte point follows.
const P256_SPKI_HEADER: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A fixed key pair for a scheme with asymmetric signatures (Discord's Ed25519,
/// SendGrid's ECDSA P-256, Standard Webhooks `v1a`): the private key signs mock
/// deliveries ([`MockEvent::sign_with_private_key`](crate::MockEvent::sign_with_private_key)),
/// the public key goes in the receiver's verifier, in the form the provider shows it.
///
/// Pairs are numbered: use `0` for the receiver's key and others for a sender who does
/// not hold it. The same number gives the same pair on every run; never use one
/// outside tests.
///
/// ```
/// use webhook_signature::Verifier;
/// use webhook_signature::scheme::{Algorithm, Provider};
/// use webhook_testing::{MockEvent, TestKeyPair};
///
/// let discord = Provider::find("discord").unwrap();
/// let keys = TestKeyPair::new(Algorithm::Ed25519, 0).unwrap();
/// assert_eq!(keys.public_key().len(), 64, "hex, as Discord shows it");
/// let verifier = Verifier::builder((discord.scheme)())
///     .public_key("app", keys.public_key())
///     .build()
///     .unwrap();
///
/// let delivery = MockEvent::new("ping").sign_with_private_key((discord.scheme)(), keys.private_key());
/// let (headers, body) = delivery.parts().unwrap();
/// assert_eq!(verifier.verify(&headers, &body).unwrap().key_id().as_str(), "app");
///
/// let other = TestKeyPair::new(Algorithm::Ed25519, 1).unwrap();
/// let (headers, body) = delivery.with_private_key(other.private_key()).parts().unwrap();
/// assert!(verifier.verify(&headers, &body).is_err());
/// assert!(TestKeyPair::new(Algorithm::HmacSha256, 0).is_none());
/// ```
#[derive(Clone)]
pub struct TestKeyPair {
    algorithm: Algorithm,
    private_key: Zeroizing<String>,
    public_key: String,
}

impl TestKeyPair {
    /// Key pair number `index` of `algorithm` (Ed25519 or ECDSA P-256), or `None` for
    /// an HMAC algorithm, which takes a shared secret.
    pub fn new(algorithm: Algorithm, index: u8) -> Option<Self> {
        // The private key: 32 bytes of `index + 1` after a first byte of 1, which keeps
        // the P-256 scalar nonzero and below the group order.
        let mut bytes = [index.wrapping_add(1); 32];
        bytes[0] = 1;
        let private_key = Zeroizing::new(hex::encode(bytes));
        let private = match algorithm {
            Algorithm::Ed25519 => PrivateKey::ed25519(&private_key),
            Algorithm::EcdsaP256Sha256 => PrivateKey::ecdsa_p256(&private_key),
            _ => return None,
        }
        .ok()?;
        let public_key = match private.public_key() {
            PublicKey::Ed25519(public) => hex::encode(public.as_bytes()),
            PublicKey::EcdsaP256(public) => {
                let mut der = P256_SPKI_HEADER.to_vec();
                der.extend_from_slice(public.to_encoded_point(false).as_bytes());
                base64::engine::general_purpose::STANDARD.encode(der)
            }
            _ => return None,
        };
        Some(Self {
            algorithm,
            private_key,
            public_key,
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The private key: the 32-byte Ed25519 seed or P-256 scalar in hex, which
    /// [`Signer::with_private_key`](webhook_signature::Signer::with_private_key) reads.
    pub fn private_key(&self) -> &str {
        &self.private_key
    }

    /// The public key as its provider shows it: 64 hex characters for Ed25519
    /// (Discord), base64 DER `SubjectPublicKeyInfo` for P-256 (SendGrid).
    pub fn public_key(&self) -> &str {
        &self.public_key
    }
}

impl fmt::Debug for TestKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestKeyPair")
            .field("algorithm", &self.algorithm)
            .field("private_key", &"<redacted>")
            .field("public_key", &self.public_key)
            .finish()
    }
}
