//! Safe mode (安全模式): the platform's message encryption.
//!
//! key = base64-decode(EncodingAESKey + "="), 32 bytes; AES-256-CBC with IV = key[..16];
//! plaintext = 16 random bytes ‖ 4-byte big-endian length ‖ XML ‖ AppID, padded PKCS#7-style
//! to a multiple of **32** bytes (not the cipher's 16, so the padding is done here and the
//! cipher runs without its own); the ciphertext travels in base64.

use aes::Aes256;
use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};

/// The platform's padding block, twice AES's.
const PAD_BLOCK: usize = 32;
/// Longest plaintext message accepted; the endpoint's body limit keeps real ones far below.
const MAX_XML_BYTES: usize = 64 * 1024;

/// The platform generates EncodingAESKey as 43 random characters, so the last one's two spare
/// bits are often non-zero: a strict decoder would refuse keys the platform hands out.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    #[error("EncodingAESKey 应为 43 个 Base64 字符：{0}")]
    BadKey(&'static str),
    #[error("Encrypt 字段不是有效的 Base64")]
    NotBase64,
    #[error("密文长度 {0} 不是 32 字节的整数倍")]
    BadLength(usize),
    #[error("解密后的填充无效（EncodingAESKey 不一致？）")]
    BadPadding,
    #[error("解密后的消息长度字段无效")]
    BadLengthField,
    #[error("解密后的消息不是 UTF-8 文本")]
    NotUtf8,
    #[error("消息中的 AppID 与本服务器配置不符")]
    WrongAppId,
}

impl CryptoError {
    pub fn code(&self) -> &'static str {
        match self {
            CryptoError::BadKey(_) => "bad_encoding_aes_key",
            CryptoError::NotBase64 => "encrypt_not_base64",
            CryptoError::BadLength(_) => "encrypt_bad_length",
            CryptoError::BadPadding => "encrypt_bad_padding",
            CryptoError::BadLengthField => "encrypt_bad_length_field",
            CryptoError::NotUtf8 => "encrypt_not_utf8",
            CryptoError::WrongAppId => "wrong_app_id",
        }
    }
}

/// The key and AppID of one official account. `Debug` shows neither.
#[derive(Clone)]
pub struct SafeMode {
    key: [u8; 32],
    app_id: String,
}

impl std::fmt::Debug for SafeMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SafeMode { .. }")
    }
}

impl SafeMode {
    pub fn new(encoding_aes_key: &str, app_id: &str) -> Result<SafeMode, CryptoError> {
        let k = encoding_aes_key.trim();
        if k.len() != 43 {
            return Err(CryptoError::BadKey("长度不是 43"));
        }
        let bytes = LENIENT
            .decode(format!("{k}="))
            .map_err(|_| CryptoError::BadKey("含有 Base64 以外的字符"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::BadKey("解码后不是 32 字节"))?;
        Ok(SafeMode {
            key,
            app_id: app_id.trim().to_owned(),
        })
    }

    /// The message XML inside an `Encrypt` field, after checking padding, length and AppID.
    pub fn decrypt(&self, encrypt: &str) -> Result<String, CryptoError> {
        let cipher = LENIENT
            .decode(encrypt.trim())
            .map_err(|_| CryptoError::NotBase64)?;
        if cipher.is_empty() || cipher.len() % PAD_BLOCK != 0 {
            return Err(CryptoError::BadLength(cipher.len()));
        }
        let plain = cbc::Decryptor::<Aes256>::new_from_slices(&self.key, &self.key[..16])
            .expect("32-byte key, 16-byte IV")
            .decrypt_padded_vec_mut::<NoPadding>(&cipher)
            .map_err(|_| CryptoError::BadLength(cipher.len()))?;
        let pad = usize::from(*plain.last().ok_or(CryptoError::BadPadding)?);
        if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
            return Err(CryptoError::BadPadding);
        }
        let (body, padding) = plain.split_at(plain.len() - pad);
        if padding.iter().any(|&b| usize::from(b) != pad) {
            return Err(CryptoError::BadPadding);
        }
        let rest = body.get(16..).ok_or(CryptoError::BadLengthField)?;
        let (len, rest) = rest
            .split_at_checked(4)
            .ok_or(CryptoError::BadLengthField)?;
        let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
        if len > MAX_XML_BYTES || len > rest.len() {
            return Err(CryptoError::BadLengthField);
        }
        let (xml, app_id) = rest.split_at(len);
        if app_id != self.app_id.as_bytes() {
            return Err(CryptoError::WrongAppId);
        }
        String::from_utf8(xml.to_vec()).map_err(|_| CryptoError::NotUtf8)
    }

    /// The `Encrypt` field for a reply, with fresh random bytes in front.
    pub fn encrypt(&self, xml: &str) -> String {
        let mut random = [0u8; 16];
        // Without OS randomness the server cannot run at all (keys, tokens); fail loudly.
        getrandom::fill(&mut random).expect("OS randomness");
        self.encrypt_with(xml, random)
    }

    fn encrypt_with(&self, xml: &str, random: [u8; 16]) -> String {
        let mut plain = Vec::with_capacity(20 + xml.len() + self.app_id.len() + PAD_BLOCK);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&(xml.len() as u32).to_be_bytes());
        plain.extend_from_slice(xml.as_bytes());
        plain.extend_from_slice(self.app_id.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        plain.resize(plain.len() + pad, pad as u8);
        let cipher = cbc::Encryptor::<Aes256>::new_from_slices(&self.key, &self.key[..16])
            .expect("32-byte key, 16-byte IV")
            .encrypt_padded_vec_mut::<NoPadding>(&plain);
        base64::engine::general_purpose::STANDARD.encode(cipher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const APP_ID: &str = "wx1234567890abcdef";

    #[test]
    fn key_accepts_platform_keys_with_spare_bits_set_and_refuses_others() {
        // 'G' as the 43rd character leaves non-zero spare bits.
        assert!(SafeMode::new(KEY, APP_ID).is_ok());
        assert_eq!(
            SafeMode::new(&KEY[1..], APP_ID).unwrap_err(),
            CryptoError::BadKey("长度不是 43")
        );
        assert!(matches!(
            SafeMode::new(&format!("{}*", &KEY[1..]), APP_ID),
            Err(CryptoError::BadKey(_))
        ));
    }

    #[test]
    fn encrypt_pads_to_32_bytes_and_decrypt_gives_the_xml_back() {
        let m = SafeMode::new(KEY, APP_ID).unwrap();
        for xml in ["", "<xml/>", &"资".repeat(100)] {
            let e = m.encrypt(xml);
            let raw = base64::engine::general_purpose::STANDARD
                .decode(&e)
                .unwrap();
            assert_eq!(raw.len() % 32, 0);
            assert_eq!(m.decrypt(&e).unwrap(), xml);
        }
    }

    #[test]
    fn decrypt_refuses_another_app_id_another_key_and_damage() {
        let m = SafeMode::new(KEY, APP_ID).unwrap();
        let e = m.encrypt_with("<xml/>", [7; 16]);
        let other_app = SafeMode::new(KEY, "wx0000000000000000").unwrap();
        assert_eq!(other_app.decrypt(&e), Err(CryptoError::WrongAppId));
        let other_key = SafeMode::new("B".repeat(43).as_str(), APP_ID).unwrap();
        assert!(other_key.decrypt(&e).is_err());
        assert_eq!(m.decrypt("not base64!"), Err(CryptoError::NotBase64));
        assert_eq!(m.decrypt("AAAA"), Err(CryptoError::BadLength(3)));
        assert_eq!(m.decrypt(""), Err(CryptoError::BadLength(0)));
    }
}
