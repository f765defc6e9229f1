//! The X.509 side of the PDF signatures: ECDSA P-256 keys with certificates.
//!
//! The issuer signs with a certificate under its own CA; each enterprise signs with its own
//! certificate (the role of the guide's 法人一证通). Production loads both from PEM (certificate
//! chain) and PKCS#8 (key, plain or password-encrypted); the demo generates a root CA, the
//! issuer's signing certificate and one certificate per enterprise with [`Signer::issue`].
//!
//! Certificates are built with `x509-cert`'s builder on the same RustCrypto `p256` keys that
//! sign the PDFs, so one crypto stack covers generation, loading and signing (rcgen would add
//! ring and an x509 parser only to re-load a CA we wrote ourselves).

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use der::asn1::GeneralizedTime;
use der::{DecodePem, EncodePem, pem::LineEnding};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rand_core::{OsRng, RngCore};
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use crate::DocumentError;

/// scrypt cost of password-encrypted keys: N = 2^17, r = 8, p = 1 (128 MiB, a few hundred
/// milliseconds), OWASP's current minimum for scrypt (Password Storage Cheat Sheet). Keys
/// encrypted at a lower cost still open; [`encrypted_key_log_n`] tells them apart so they
/// can be re-encrypted at this one.
pub const SCRYPT_LOG_N: u8 = 17;

/// The scrypt cost (log2 N) a password-encrypted PKCS#8 PEM was written with; `None` when it
/// is not PBES2 with scrypt or cannot be read.
pub fn encrypted_key_log_n(key_pem: &str) -> Option<u8> {
    let (_, doc) = pkcs8::Document::from_pem(key_pem).ok()?;
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes()).ok()?;
    let pkcs8::pkcs5::EncryptionScheme::Pbes2(params) = info.encryption_algorithm else {
        return None;
    };
    let pkcs8::pkcs5::pbes2::Kdf::Scrypt(scrypt) = params.kdf else {
        return None;
    };
    let n = scrypt.cost_parameter;
    n.is_power_of_two().then(|| n.trailing_zeros() as u8)
}

/// A signing key with its certificate and the chain above it (leaf first, root last or
/// absent).
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
    chain: Vec<Certificate>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field(
                "subject",
                &self.certificate().tbs_certificate.subject.to_string(),
            )
            .finish_non_exhaustive()
    }
}

/// Who a new certificate is for.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// CN, e.g. the enterprise name
    pub common_name: &'a str,
    /// O, e.g. the enterprise or issuer name
    pub organization: &'a str,
    /// 统一社会信用代码, written as organizationIdentifier (ETSI EN 319 412-1 `NTRCN-…`)
    pub credit_code: Option<&'a str>,
}

/// What kind of certificate [`Signer::issue`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A CA that issues further certificates.
    Authority,
    /// An end entity that signs documents (digitalSignature + nonRepudiation).
    DocumentSigner,
}

fn bad(what: impl std::fmt::Display) -> DocumentError {
    DocumentError::Pki(what.to_string())
}

fn name(s: &Subject<'_>) -> Result<Name, DocumentError> {
    // RFC 4514 text; commas and the like inside values must be escaped.
    let esc = |v: &str| {
        let mut out = String::with_capacity(v.len());
        for c in v.chars() {
            if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    };
    let mut dn = format!("CN={},O={},C=CN", esc(s.common_name), esc(s.organization));
    if let Some(code) = s.credit_code {
        // organizationIdentifier (2.5.4.97) has no short name in the RFC 4514 parser.
        dn = format!("2.5.4.97=NTRCN-{},{dn}", esc(code));
    }
    Name::from_str(&dn).map_err(bad)
}

fn serial() -> Result<SerialNumber, DocumentError> {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes[0] &= 0x7f; // positive
    bytes[0] |= 0x01; // and no leading zero byte to strip
    SerialNumber::new(&bytes).map_err(bad)
}

fn time(t: DateTime<Utc>) -> Result<Time, DocumentError> {
    let secs = u64::try_from(t.timestamp()).map_err(|_| bad("certificate time before 1970"))?;
    let gt = GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).map_err(bad)?;
    Ok(Time::GeneralTime(gt))
}

fn spki(key: &SigningKey) -> Result<SubjectPublicKeyInfoOwned, DocumentError> {
    let der = key.verifying_key().to_public_key_der().map_err(bad)?;
    SubjectPublicKeyInfoOwned::try_from(der.as_bytes()).map_err(bad)
}

fn build(
    profile: Profile,
    subject: Name,
    key: &SigningKey,
    issuer_key: &SigningKey,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Certificate, DocumentError> {
    let validity = Validity {
        not_before: time(from)?,
        not_after: time(until)?,
    };
    let builder = CertificateBuilder::new(
        profile,
        serial()?,
        validity,
        subject,
        spki(key)?,
        issuer_key,
    )
    .map_err(bad)?;
    builder.build::<DerSignature>().map_err(bad)
}

impl Signer {
    /// A new self-signed root CA.
    pub fn new_root(
        subject: &Subject<'_>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Signer, DocumentError> {
        let key = SigningKey::random(&mut OsRng);
        let cert = build(Profile::Root, name(subject)?, &key, &key, from, until)?;
        Ok(Signer {
            key,
            chain: vec![cert],
        })
    }

    /// Issues a certificate with a new key, signed by this signer (which must be a CA).
    pub fn issue(
        &self,
        subject: &Subject<'_>,
        role: Role,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Signer, DocumentError> {
        let key = SigningKey::random(&mut OsRng);
        let issuer = self.certificate().tbs_certificate.subject.clone();
        let profile = match role {
            Role::Authority => Profile::SubCA {
                issuer,
                path_len_constraint: Some(0),
            },
            Role::DocumentSigner => Profile::Leaf {
                issuer,
                enable_key_agreement: false,
                enable_key_encipherment: false,
            },
        };
        let cert = build(profile, name(subject)?, &key, &self.key, from, until)?;
        let mut chain = vec![cert];
        chain.extend(self.chain.iter().cloned());
        Ok(Signer { key, chain })
    }

    /// Loads a signer from PEM: the certificate chain (leaf first) and an unencrypted PKCS#8
    /// (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) key. The key must match the leaf.
    pub fn from_pem(chain_pem: &str, key_pem: &str) -> Result<Signer, DocumentError> {
        let key = if key_pem.contains("BEGIN EC PRIVATE KEY") {
            let sk = p256::SecretKey::from_sec1_pem(key_pem).map_err(bad)?;
            SigningKey::from(sk)
        } else {
            SigningKey::from_pkcs8_pem(key_pem).map_err(bad)?
        };
        Signer::with_chain(key, chain_pem)
    }

    /// Loads a signer whose PKCS#8 key is password-encrypted (`ENCRYPTED PRIVATE KEY`).
    /// A wrong password is [`DocumentError::WrongPassword`].
    pub fn from_encrypted_pem(
        chain_pem: &str,
        key_pem: &str,
        password: &str,
    ) -> Result<Signer, DocumentError> {
        let key = SigningKey::from_pkcs8_encrypted_pem(key_pem, password.as_bytes())
            .map_err(|_| DocumentError::WrongPassword)?;
        Signer::with_chain(key, chain_pem)
    }

    fn with_chain(key: SigningKey, chain_pem: &str) -> Result<Signer, DocumentError> {
        let chain = Certificate::load_pem_chain(chain_pem.as_bytes()).map_err(bad)?;
        let Some(leaf) = chain.first() else {
            return Err(bad("the certificate file holds no certificate"));
        };
        if spki(&key)? != leaf.tbs_certificate.subject_public_key_info {
            return Err(bad(
                "the private key does not belong to the first certificate",
            ));
        }
        Ok(Signer { key, chain })
    }

    /// The signer's own certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.chain[0]
    }

    /// Leaf first.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    pub(crate) fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The subject's CN, as validators show it.
    pub fn common_name(&self) -> String {
        let subject = &self.certificate().tbs_certificate.subject;
        for rdn in subject.0.iter() {
            for atv in rdn.0.iter() {
                if atv.oid == const_oid::db::rfc4519::CN
                    && let Ok(s) = der::asn1::Utf8StringRef::try_from(&atv.value)
                {
                    return s.as_str().to_owned();
                }
            }
        }
        subject.to_string()
    }

    /// Until when the certificate is valid.
    pub fn not_after(&self) -> SystemTime {
        self.certificate()
            .tbs_certificate
            .validity
            .not_after
            .to_system_time()
    }

    /// The certificate chain as PEM, leaf first.
    pub fn chain_pem(&self) -> Result<String, DocumentError> {
        let mut out = String::new();
        for c in &self.chain {
            out.push_str(&c.to_pem(LineEnding::LF).map_err(bad)?);
        }
        Ok(out)
    }

    /// The signer's own certificate as PEM.
    pub fn certificate_pem(&self) -> Result<String, DocumentError> {
        self.certificate().to_pem(LineEnding::LF).map_err(bad)
    }

    /// The last certificate of the chain (the root, when the chain is complete) as PEM.
    pub fn top_pem(&self) -> Result<String, DocumentError> {
        let top = self.chain.last().expect("a chain has a leaf");
        top.to_pem(LineEnding::LF).map_err(bad)
    }

    /// The key as unencrypted PKCS#8 PEM (for files of mode 0600).
    pub fn key_pem(&self) -> Result<String, DocumentError> {
        Ok(self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(bad)?
            .to_string())
    }

    /// The key as password-encrypted PKCS#8 PEM (PBES2: scrypt + AES-256-CBC).
    pub fn encrypted_key_pem(&self, password: &str) -> Result<String, DocumentError> {
        self.encrypted_key_pem_with_cost(password, SCRYPT_LOG_N)
    }

    /// Like [`Signer::encrypted_key_pem`] with scrypt N = 2^`log_n`; lower costs are for keys
    /// whose password is public anyway (the demo's).
    pub fn encrypted_key_pem_with_cost(
        &self,
        password: &str,
        log_n: u8,
    ) -> Result<String, DocumentError> {
        let doc = self.key.to_pkcs8_der().map_err(bad)?;
        let info = pkcs8::PrivateKeyInfo::try_from(doc.as_bytes()).map_err(bad)?;
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        OsRng.fill_bytes(&mut salt);
        OsRng.fill_bytes(&mut iv);
        let params = pkcs8::pkcs5::pbes2::Parameters::scrypt_aes256cbc(
            pkcs8::pkcs5::scrypt::Params::new(log_n, 8, 1, 32).map_err(bad)?,
            &salt,
            &iv,
        )
        .map_err(bad)?;
        let enc = info
            .encrypt_with_params(params, password.as_bytes())
            .map_err(bad)?;
        Ok(enc
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .map_err(bad)?
            .to_string())
    }
}

/// Loads one certificate from PEM (e.g. the root a validator should trust).
pub fn certificate_from_pem(pem: &str) -> Result<Certificate, DocumentError> {
    Certificate::from_pem(pem.as_bytes()).map_err(bad)
}
