//! The demo's documents: every copy `zizhi demo` issues is also written as a signed PDF under
//! `<out>/pdf/`, rendered at the moment of its issue (so the superseded or cancelled copies
//! show what was printed then), and each demo case's copy as `<out>/<case>.pdf`. Enterprises
//! with usage copies are enrolled with a known demo password; their tokens go to
//! `<out>/credentials.json` so the enterprise API can be tried, and the root a validator
//! should trust to `<out>/pdf-root.pem`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use zizhi_documents::pki::Signer;
use zizhi_shared::{CopyKind, CreditCode};

use super::{credentials, files};
use crate::app::AppState;
use crate::copies::model::CopyRecord;

/// The password of every demo enterprise's digital certificate.
pub const DEMO_PASSWORD: &str = "zizhi-demo-2026";
/// The password is published, so a full scrypt cost would only slow the seed (and every test
/// that seeds the demo) down.
const DEMO_SCRYPT_LOG_N: u8 = 10;

#[derive(Serialize)]
struct DemoCredential {
    credit_code: CreditCode,
    enterprise_name: String,
    token: String,
    password: &'static str,
}

/// Collects the demo's documents while the register is seeded.
pub struct DemoDocuments {
    dir: PathBuf,
    signers: HashMap<CreditCode, Signer>,
    credentials: Vec<DemoCredential>,
    files: HashMap<u64, PathBuf>,
}

impl DemoDocuments {
    pub fn new(out_dir: &Path) -> anyhow::Result<DemoDocuments> {
        let dir = out_dir.join("pdf");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(DemoDocuments {
            dir,
            signers: HashMap::new(),
            credentials: Vec::new(),
            files: HashMap::new(),
        })
    }

    /// Renders and signs a copy just issued at `t`; usage copies are also stored, so the API
    /// serves them as it would an enterprise's own.
    pub async fn add(
        &mut self,
        state: &AppState,
        copy: &CopyRecord,
        actor: &str,
        t: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let status = state
            .store
            .certificate_status(&copy.certificate_number)
            .await?
            .context("certificate of a demo copy")?;
        let certificate = status
            .version(copy.certificate_version)
            .context("version of a demo copy")?
            .certificate
            .clone();
        let enterprise = match copy.kind {
            CopyKind::Approval => None,
            CopyKind::Usage => {
                let code = &status.credit_code;
                if !self.signers.contains_key(code) {
                    let (enrolment, signer) = credentials::enrol_enterprise_with_signer(
                        &state.store,
                        actor,
                        code,
                        DEMO_PASSWORD,
                        DEMO_SCRYPT_LOG_N,
                        &state.pdf.enterprise_ca,
                        t,
                    )
                    .await?;
                    self.credentials.push(DemoCredential {
                        credit_code: code.clone(),
                        enterprise_name: enrolment.enterprise_name,
                        token: enrolment.token,
                        password: DEMO_PASSWORD,
                    });
                    self.signers.insert(code.clone(), signer);
                }
                self.signers.get(code).cloned()
            }
        };
        let pdf = files::render(&state.pdf, certificate, copy, copy.issued_at, enterprise).await?;
        if copy.kind == CopyKind::Usage {
            state
                .store
                .save_document(copy.id, &pdf, copy.issued_at)
                .await?;
        }
        let path = self.dir.join(format!(
            "{}-v{}-{}-{}.pdf",
            copy.certificate_number,
            copy.certificate_version,
            copy.kind.code(),
            copy.id
        ));
        std::fs::write(&path, &pdf)?;
        self.files.insert(copy.id, path);
        Ok(())
    }

    /// Copies each case's PDF to `<out>/<case>.pdf` and writes the credentials and the root.
    pub fn finish<'a>(
        self,
        state: &AppState,
        out_dir: &Path,
        cases: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> anyhow::Result<()> {
        for (case, id) in cases {
            if let Some(path) = self.files.get(&id) {
                std::fs::copy(path, out_dir.join(format!("{case}.pdf")))?;
            }
        }
        std::fs::write(
            out_dir.join("credentials.json"),
            serde_json::to_string_pretty(&self.credentials)?,
        )?;
        std::fs::write(
            out_dir.join("pdf-root.pem"),
            state.pdf.trust_root_pem.as_str(),
        )?;
        Ok(())
    }
}
