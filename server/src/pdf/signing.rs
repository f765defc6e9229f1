//! The keys behind the PDF signatures (ECDSA P-256, X.509), separate from the Ed25519 QR
//! keys: a desktop validator checks these, a phone checks those.
//!
//! Production configures PEM files (`[documents]` in the settings). Without them the server
//! generates a demonstration PKI once into `<data_dir>/pki/` (keys mode 0600, never
//! committed): a root CA, the issuer's signing certificate under it, and the root also
//! certifies enterprise keys. Its certificates start ten years back so the demo's replayed
//! history, whose copies are years old, lies inside them.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use zizhi_documents::Fonts;
use zizhi_documents::pki::{Role, Signer, Subject};

use super::DocumentSettings;

/// The certificate's fonts (证书字体), read on first use: Noto Serif CJK and the 生僻字 faces
/// take about 150 MB of memory, which an instance that only answers scans never needs. Once
/// read they stay (`Fonts::load` keeps them per path).
#[derive(Clone, Debug)]
pub struct CertificateFonts {
    configured: Option<PathBuf>,
    /// Only the subset shipped in the binary, whatever the machine has (tests).
    shipped: bool,
}

impl CertificateFonts {
    /// The fonts as configured; a configured file that is missing is refused here, at start.
    pub fn new(configured: Option<&Path>) -> anyhow::Result<CertificateFonts> {
        if let Some(p) = configured
            && !p.is_file()
        {
            anyhow::bail!(
                "the configured certificate font {} does not exist",
                p.display()
            );
        }
        Ok(CertificateFonts {
            configured: configured.map(Path::to_path_buf),
            shipped: false,
        })
    }

    #[cfg(test)]
    pub(crate) fn shipped() -> CertificateFonts {
        CertificateFonts {
            configured: None,
            shipped: true,
        }
    }

    /// The fonts, read now if this is their first use.
    pub fn get(&self) -> Result<Fonts, zizhi_documents::DocumentError> {
        if self.shipped {
            return Fonts::shipped();
        }
        Fonts::load(self.configured.as_deref())
    }
}

/// Fonts and signers; the signers loaded at start, the fonts on first use.
#[derive(Clone)]
pub struct PdfSigning {
    pub fonts: CertificateFonts,
    pub issuer: Arc<Signer>,
    /// Certifies enterprise signing keys at enrolment.
    pub enterprise_ca: Arc<Signer>,
    /// What validators should trust (PEM).
    pub trust_root_pem: Arc<String>,
}

impl std::fmt::Debug for PdfSigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfSigning")
            .field("fonts", &self.fonts)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write_file(path: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if secret { 0o600 } else { 0o644 })
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

fn pem_pair(
    cert: &Option<std::path::PathBuf>,
    key: &Option<std::path::PathBuf>,
) -> anyhow::Result<Option<Signer>> {
    match (cert, key) {
        (Some(c), Some(k)) => Ok(Some(
            Signer::from_pem(&read(c)?, &read(k)?)
                .with_context(|| format!("{} / {}", c.display(), k.display()))?,
        )),
        (None, None) => Ok(None),
        _ => anyhow::bail!("documents: a certificate needs its key and a key its certificate"),
    }
}

/// The demonstration PKI under `<data_dir>/pki/`, generated on first use.
fn demo_pki(
    data_dir: &Path,
    issuer_name: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<(Signer, Signer)> {
    let dir = data_dir.join("pki");
    let files = ["root.pem", "root.key", "issuer.pem", "issuer.key"].map(|f| dir.join(f));
    if files.iter().all(|f| f.exists()) {
        let root = Signer::from_pem(&read(&files[0])?, &read(&files[1])?)?;
        let issuer = Signer::from_pem(&read(&files[2])?, &read(&files[3])?)?;
        return Ok((root, issuer));
    }
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let from = now - Duration::days(3650);
    let root = Signer::new_root(
        &Subject {
            common_name: "zizhi 演示根证书（非正式）",
            organization: issuer_name,
            credit_code: None,
        },
        from,
        now + Duration::days(3650 * 2),
    )?;
    let issuer = root.issue(
        &Subject {
            common_name: issuer_name,
            organization: issuer_name,
            credit_code: None,
        },
        Role::DocumentSigner,
        from,
        now + Duration::days(3650),
    )?;
    write_file(&files[0], &root.chain_pem()?, false)?;
    write_file(&files[1], &root.key_pem()?, true)?;
    write_file(&files[2], &issuer.chain_pem()?, false)?;
    write_file(&files[3], &issuer.key_pem()?, true)?;
    tracing::info!(dir = %dir.display(), "generated the demonstration PDF signing PKI");
    Ok((root, issuer))
}

impl PdfSigning {
    /// Loads fonts and keys as configured, generating the demonstration PKI when none is.
    pub fn load(
        settings: &DocumentSettings,
        data_dir: &Path,
        issuer_name: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<PdfSigning> {
        let fonts = CertificateFonts::new(settings.font.as_deref())?;
        // The H5 pages show 生僻字 in web fonts cut from these same faces.
        crate::pages::webfont::install(fonts.clone());
        let configured_issuer = pem_pair(&settings.issuer_certificate, &settings.issuer_key)?;
        let configured_ca = pem_pair(
            &settings.enterprise_ca_certificate,
            &settings.enterprise_ca_key,
        )?;
        let (issuer, ca) = match (configured_issuer, configured_ca) {
            (Some(i), Some(c)) => (i, c),
            (i, c) => {
                if i.is_some() != c.is_some() {
                    // Signatures by a generated half will not chain to the configured root.
                    tracing::warn!(
                        "documents: only one of the issuer certificate and the enterprise CA is \
                         configured; the other comes from the generated demonstration PKI"
                    );
                }
                let (root, demo_issuer) = demo_pki(data_dir, issuer_name, now)?;
                (i.unwrap_or(demo_issuer), c.unwrap_or(root))
            }
        };
        let trust_root_pem = match &settings.trust_root {
            Some(p) => read(p)?,
            None => issuer.top_pem()?,
        };
        Ok(PdfSigning {
            fonts,
            issuer: Arc::new(issuer),
            enterprise_ca: Arc::new(ca),
            trust_root_pem: Arc::new(trust_root_pem),
        })
    }
}
