//! Issuer signing keys and the short key ids that name them inside a payload.
//!
//! Keys come from caller-provided 32-byte seeds: this crate never draws randomness itself, so
//! it builds for `wasm32-unknown-unknown` without a getrandom backend, and the issuer decides
//! where seeds come from (a key file, an HSM export, a fixed test seed).

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::payload::PayloadError;

/// Key id: four ASCII letters or digits, e.g. `SH01`.
///
/// Four bytes are enough to tell the handful of keys an issuer ever rotates through, and every
/// byte in the QR code costs modules.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
// Serialised as its four characters (see `impl Serialize`).
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "SH01"))]
pub struct KeyId([u8; 4]);

impl KeyId {
    /// Builds a key id from four bytes, typically a literal: `KeyId::new(*b"SH01")`.
    ///
    /// # Panics
    ///
    /// If a byte is not an ASCII letter or digit. Use [`KeyId::parse`] for data from outside.
    pub const fn new(bytes: [u8; 4]) -> KeyId {
        let mut i = 0;
        while i < 4 {
            assert!(
                bytes[i].is_ascii_alphanumeric(),
                "key id must be 4 ASCII letters or digits"
            );
            i += 1;
        }
        KeyId(bytes)
    }

    /// Parses exactly four ASCII letters or digits (case is kept: `SH01` ≠ `sh01`).
    pub fn parse(text: &str) -> Result<KeyId, PayloadError> {
        KeyId::from_slice(text.as_bytes()).ok_or_else(|| {
            PayloadError::Malformed(format!("密钥标识应为 4 位字母或数字: {text:.16}"))
        })
    }

    /// The same check on raw bytes, as found in a COSE `kid` header.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<KeyId> {
        let arr: [u8; 4] = bytes.try_into().ok()?;
        arr.iter()
            .all(u8::is_ascii_alphanumeric)
            .then_some(KeyId(arr))
    }

    pub fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        // Every constructor checks for ASCII alphanumerics, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or("????")
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.as_str())
    }
}

impl FromStr for KeyId {
    type Err = PayloadError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyId::parse(s)
    }
}

impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        KeyId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Parses a pinned public key given as 64 hex digits (e.g. the root key an app ships with).
/// A malformed key or a weak (small-order) point is refused: nothing signed under it could be
/// trusted.
pub fn verifying_key_from_hex(hex: &str) -> Result<VerifyingKey, PayloadError> {
    let bad = || PayloadError::Malformed(format!("公钥应为 64 位十六进制数: {hex:.16}"));
    let bytes: [u8; 32] = data_encoding::HEXLOWER_PERMISSIVE
        .decode(hex.trim().as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    VerifyingKey::from_bytes(&bytes)
        .ok()
        .filter(|k| !k.is_weak())
        .ok_or_else(bad)
}

/// An issuer's Ed25519 signing key together with the key id that names it.
#[derive(Clone)]
pub struct IssuerKey {
    kid: KeyId,
    signing: SigningKey,
}

impl IssuerKey {
    /// The seed is the Ed25519 secret key (RFC 8032), so the same seed gives the same key and,
    /// Ed25519 being deterministic, the same signatures: test vectors rely on that.
    pub fn from_seed(kid: KeyId, seed: [u8; 32]) -> IssuerKey {
        IssuerKey {
            kid,
            signing: SigningKey::from_bytes(&seed),
        }
    }

    pub fn kid(&self) -> KeyId {
        self.kid
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The secret seed, for writing key files. Handle with care.
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    pub(crate) fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for IssuerKey {
    // The seed must never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerKey")
            .field("kid", &self.kid)
            .field(
                "public_key",
                &data_encoding::HEXLOWER.encode(&self.public_key_bytes()),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_accepts_four_ascii_alphanumerics_only() {
        assert_eq!(KeyId::parse("SH01").unwrap(), KeyId::new(*b"SH01"));
        assert_eq!(KeyId::parse("SH01").unwrap().to_string(), "SH01");
        for bad in ["SH0", "SH011", "SH-1", "SH 1", "", "上海", "ＳＨ01"] {
            assert!(KeyId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_id_serialises_as_its_text() {
        let kid = KeyId::new(*b"SH02");
        let json = serde_json::to_string(&kid).unwrap();
        assert_eq!(json, "\"SH02\"");
        assert_eq!(serde_json::from_str::<KeyId>(&json).unwrap(), kid);
        assert!(serde_json::from_str::<KeyId>("\"SH0!\"").is_err());
    }

    #[test]
    fn issuer_key_debug_shows_the_public_key_but_never_the_seed() {
        let seed = [0xab; 32];
        let key = IssuerKey::from_seed(KeyId::new(*b"SH01"), seed);
        let debug = format!("{key:?}");
        assert!(debug.contains("SH01"));
        assert!(debug.contains(&data_encoding::HEXLOWER.encode(&key.public_key_bytes())));
        assert!(!debug.contains(&data_encoding::HEXLOWER.encode(&seed)));
        assert!(!debug.contains("171, 171"));
        assert_eq!(key.seed(), seed);
    }

    #[test]
    fn pinned_keys_parse_from_hex_and_weak_or_bad_ones_are_refused() {
        let key = IssuerKey::from_seed(KeyId::new(*b"RT01"), [9; 32]);
        let hex = data_encoding::HEXLOWER.encode(&key.public_key_bytes());
        assert_eq!(verifying_key_from_hex(&hex).unwrap(), key.verifying_key());
        assert_eq!(
            verifying_key_from_hex(&hex.to_uppercase()).unwrap(),
            key.verifying_key()
        );
        let mut identity = "01".to_owned();
        identity.push_str(&"00".repeat(31));
        for bad in ["", "zz", &hex[..62], &identity] {
            assert_eq!(
                verifying_key_from_hex(bad).unwrap_err().code(),
                "malformed",
                "{bad}"
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_key() {
        let a = IssuerKey::from_seed(KeyId::new(*b"SH01"), [1; 32]);
        let b = IssuerKey::from_seed(KeyId::new(*b"SH01"), [1; 32]);
        assert_eq!(a.public_key_bytes(), b.public_key_bytes());
        assert_eq!(a.sign_raw(b"x"), b.sign_raw(b"x"));
    }
}
