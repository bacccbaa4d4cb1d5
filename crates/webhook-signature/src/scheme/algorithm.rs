//! What a signature is computed with: the [`Algorithm`], a presented [`Signature`],
//! and the asymmetric keys ([`PublicKey`] to verify, [`PrivateKey`] to sign).

use std::fmt;

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use zeroize::Zeroizing;

use super::content::Tag;
use crate::{ConfigError, SignatureRejection};

/// A signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA1: a 20-byte tag.
    HmacSha1,
    /// HMAC-SHA256: a 32-byte tag.
    HmacSha256,
    /// HMAC-SHA512: a 64-byte tag.
    HmacSha512,
    /// Ed25519 (RFC 8032): a 64-byte signature, verified with a 32-byte public key.
    Ed25519,
    /// ECDSA over P-256 with SHA-256: a DER signature.
    EcdsaP256Sha256,
}

impl Algorithm {
    /// The lowercase name `webhook providers` prints (`"hmac-sha256"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha1 => "hmac-sha1",
            Self::HmacSha256 => "hmac-sha256",
            Self::HmacSha512 => "hmac-sha512",
            Self::Ed25519 => "ed25519",
            Self::EcdsaP256Sha256 => "ecdsa-p256-sha256",
        }
    }

    /// Whether a shared secret keys it (HMAC) rather than a key pair.
    pub const fn is_hmac(self) -> bool {
        matches!(self, Self::HmacSha1 | Self::HmacSha256 | Self::HmacSha512)
    }

    /// The exact length of its tags, for HMAC; `None` for asymmetric signatures.
    pub const fn tag_len(self) -> Option<usize> {
        match self {
            Self::HmacSha1 => Some(20),
            Self::HmacSha256 => Some(32),
            Self::HmacSha512 => Some(64),
            Self::Ed25519 | Self::EcdsaP256Sha256 => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest signature any algorithm presents: a DER ECDSA P-256 signature.
pub(crate) const MAX_SIGNATURE_LEN: usize = 72;

/// A presented signature, decoded: its algorithm and bytes, length-checked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    algorithm: Algorithm,
    len: u8,
    bytes: [u8; MAX_SIGNATURE_LEN],
}

impl Signature {
    /// `bytes` as a signature of `algorithm`, or
    /// [`SignatureRejection::MalformedSignature`] when their length cannot be one:
    /// an HMAC tag has its hash's length, an Ed25519 signature 64 bytes, and an ECDSA
    /// P-256 one 8 to 72 bytes (DER).
    pub fn new(algorithm: Algorithm, bytes: &[u8]) -> Result<Self, SignatureRejection> {
        let fits = match algorithm {
            Algorithm::Ed25519 => bytes.len() == 64,
            Algorithm::EcdsaP256Sha256 => (8..=MAX_SIGNATURE_LEN).contains(&bytes.len()),
            hmac => hmac.tag_len() == Some(bytes.len()),
        };
        if !fits {
            return Err(SignatureRejection::MalformedSignature {
                reason: match algorithm {
                    Algorithm::HmacSha1 => "expected a 20-byte HMAC-SHA1 tag",
                    Algorithm::HmacSha256 => "expected a 32-byte HMAC-SHA256 tag",
                    Algorithm::HmacSha512 => "expected a 64-byte HMAC-SHA512 tag",
                    Algorithm::Ed25519 => "expected a 64-byte Ed25519 signature",
                    Algorithm::EcdsaP256Sha256 => "expected a DER ECDSA signature",
                },
            });
        }
        let mut signature = Self {
            algorithm,
            len: bytes.len() as u8,
            bytes: [0; MAX_SIGNATURE_LEN],
        };
        signature.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(signature)
    }

    /// The algorithm it claims.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Its bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl From<Tag> for Signature {
    /// An HMAC-SHA256 tag.
    fn from(tag: Tag) -> Self {
        let mut bytes = [0; MAX_SIGNATURE_LEN];
        bytes[..32].copy_from_slice(&tag);
        Self {
            algorithm: Algorithm::HmacSha256,
            len: 32,
            bytes,
        }
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signature")
            .field("algorithm", &self.algorithm)
            .field("bytes", &hex::encode(self.as_bytes()))
            .finish()
    }
}

/// A public key that verifies asymmetric signatures.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// An Ed25519 public key.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// An ECDSA P-256 public key.
    EcdsaP256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// The algorithm it verifies.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::Ed25519(_) => Algorithm::Ed25519,
            Self::EcdsaP256(_) => Algorithm::EcdsaP256Sha256,
        }
    }

    /// An Ed25519 public key in any form providers show it: 64 hex characters
    /// (Discord), `whpk_<base64>` (Standard Webhooks), the base64 of its 32 bytes, or
    /// PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn ed25519(text: &str) -> Result<Self, ConfigError> {
        let invalid = ConfigError::InvalidSecret {
            reason: "an Ed25519 public key is 64 hex characters, `whpk_<base64>`, base64 of 32 bytes, or PEM",
        };
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return ed25519_dalek::VerifyingKey::from_public_key_pem(text)
                .map(Self::Ed25519)
                .map_err(|_| invalid);
        }
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| invalid.clone())?
        } else {
            let encoded = text.strip_prefix("whpk_").unwrap_or(text);
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| invalid.clone())?
        };
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| invalid.clone())?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(Self::Ed25519)
            .map_err(|_| invalid)
    }

    /// An ECDSA P-256 public key: the base64 DER `SubjectPublicKeyInfo` that SendGrid
    /// shows, PEM, or a SEC1 point in hex or base64.
    pub fn ecdsa_p256(text: &str) -> Result<Self, ConfigError> {
        use p256::pkcs8::DecodePublicKey as _;
        let invalid = ConfigError::InvalidSecret {
            reason: "an ECDSA P-256 public key is base64 DER (SubjectPublicKeyInfo), PEM, or a SEC1 point",
        };
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return p256::ecdsa::VerifyingKey::from_public_key_pem(text)
                .map(Self::EcdsaP256)
                .map_err(|_| invalid);
        }
        let bytes = if text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| invalid.clone())?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| invalid.clone())?
        };
        p256::ecdsa::VerifyingKey::from_public_key_der(&bytes)
            .or_else(|_| p256::ecdsa::VerifyingKey::from_sec1_bytes(&bytes))
            .map(Self::EcdsaP256)
            .map_err(|_| invalid)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ed25519(key) => write!(f, "Ed25519({})", hex::encode(key.as_bytes())),
            Self::EcdsaP256(key) => write!(
                f,
                "EcdsaP256({})",
                hex::encode(key.to_encoded_point(true).as_bytes())
            ),
        }
    }
}

/// A private key that signs asymmetric signatures: for tests, the CLI and the test
/// kit. Redacted in `Debug`; the key types zeroize themselves on drop.
#[non_exhaustive]
pub enum PrivateKey {
    /// An Ed25519 signing key.
    Ed25519(ed25519_dalek::SigningKey),
    /// An ECDSA P-256 signing key.
    EcdsaP256(p256::ecdsa::SigningKey),
}

impl PrivateKey {
    /// The algorithm it signs with.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::Ed25519(_) => Algorithm::Ed25519,
            Self::EcdsaP256(_) => Algorithm::EcdsaP256Sha256,
        }
    }

    /// Its public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Ed25519(key) => PublicKey::Ed25519(key.verifying_key()),
            Self::EcdsaP256(key) => PublicKey::EcdsaP256(*key.verifying_key()),
        }
    }

    /// An Ed25519 private key: its 32-byte seed as 64 hex characters, `whsk_<base64>`
    /// (Standard Webhooks; the seed, or the seed followed by the public key), the
    /// base64 of either or of PKCS#8 DER, or PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn ed25519(text: &str) -> Result<Self, ConfigError> {
        let invalid = ConfigError::InvalidSecret {
            reason: "an Ed25519 private key is a 32-byte seed in hex, `whsk_<base64>`, base64, or PKCS#8 PEM",
        };
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return ed25519_dalek::SigningKey::from_pkcs8_pem(text)
                .map(Self::Ed25519)
                .map_err(|_| invalid);
        }
        let bytes = Zeroizing::new(
            if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                hex::decode(text).map_err(|_| invalid.clone())?
            } else {
                let encoded = text.strip_prefix("whsk_").unwrap_or(text);
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|_| invalid.clone())?
            },
        );
        let seed: [u8; 32] = match bytes.len() {
            32 | 64 => bytes[..32].try_into().map_err(|_| invalid.clone())?,
            _ => {
                return ed25519_dalek::SigningKey::from_pkcs8_der(&bytes)
                    .map(Self::Ed25519)
                    .map_err(|_| invalid);
            }
        };
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        if bytes.len() == 64 && key.verifying_key().as_bytes()[..] != bytes[32..] {
            return Err(invalid);
        }
        Ok(Self::Ed25519(key))
    }

    /// An ECDSA P-256 private key: PKCS#8 or SEC1, as PEM or as base64 DER, or its
    /// 32-byte scalar in hex or base64.
    pub fn ecdsa_p256(text: &str) -> Result<Self, ConfigError> {
        use p256::pkcs8::DecodePrivateKey as _;
        let invalid = ConfigError::InvalidSecret {
            reason: "an ECDSA P-256 private key is PKCS#8 or SEC1 (PEM or base64 DER), or a 32-byte scalar in hex or base64",
        };
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return p256::ecdsa::SigningKey::from_pkcs8_pem(text)
                .or_else(|_| {
                    p256::SecretKey::from_sec1_pem(text).map(p256::ecdsa::SigningKey::from)
                })
                .map(Self::EcdsaP256)
                .map_err(|_| invalid);
        }
        let bytes = Zeroizing::new(
            if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                hex::decode(text).map_err(|_| invalid.clone())?
            } else {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|_| invalid.clone())?
            },
        );
        p256::ecdsa::SigningKey::from_slice(&bytes)
            .or_else(|_| p256::ecdsa::SigningKey::from_pkcs8_der(&bytes))
            .or_else(|_| p256::SecretKey::from_sec1_der(&bytes).map(p256::ecdsa::SigningKey::from))
            .map(Self::EcdsaP256)
            .map_err(|_| invalid)
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PrivateKey")
            .field(&self.algorithm())
            .field(&"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_length_checked_for_their_algorithm() {
        assert!(Signature::new(Algorithm::HmacSha1, &[0; 20]).is_ok());
        assert!(Signature::new(Algorithm::HmacSha1, &[0; 32]).is_err());
        assert!(Signature::new(Algorithm::HmacSha512, &[0; 64]).is_ok());
        assert!(Signature::new(Algorithm::HmacSha512, &[0; 63]).is_err());
        assert!(Signature::new(Algorithm::Ed25519, &[0; 64]).is_ok());
        assert!(Signature::new(Algorithm::Ed25519, &[0; 65]).is_err());
        assert!(Signature::new(Algorithm::EcdsaP256Sha256, &[0; 72]).is_ok());
        assert!(Signature::new(Algorithm::EcdsaP256Sha256, &[0; 73]).is_err());
        let tag: Signature = [7u8; 32].into();
        assert_eq!(tag.algorithm(), Algorithm::HmacSha256);
        assert_eq!(tag.as_bytes(), &[7u8; 32]);
    }

    #[test]
    fn key_forms_agree() {
        let private = PrivateKey::ed25519(&"11".repeat(32)).unwrap();
        let PublicKey::Ed25519(public) = private.public_key() else {
            panic!("ed25519");
        };
        let hex_form = hex::encode(public.as_bytes());
        let whpk = format!(
            "whpk_{}",
            base64::engine::general_purpose::STANDARD.encode(public.as_bytes())
        );
        assert_eq!(PublicKey::ed25519(&hex_form).unwrap(), private.public_key());
        assert_eq!(PublicKey::ed25519(&whpk).unwrap(), private.public_key());
        assert!(PublicKey::ed25519("whpk_AAAA").is_err());
        assert!(format!("{private:?}").contains("redacted"));

        let p256 = PrivateKey::ecdsa_p256(&"22".repeat(32)).unwrap();
        let PublicKey::EcdsaP256(public) = p256.public_key() else {
            panic!("p256");
        };
        use p256::pkcs8::EncodePublicKey as _;
        let der = public.to_public_key_der().unwrap();
        let text = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
        assert_eq!(PublicKey::ecdsa_p256(&text).unwrap(), p256.public_key());
        assert!(PublicKey::ecdsa_p256("AAAA").is_err());
    }
}
