//! Renders sample copies to look at:
//! `cargo run -p zizhi-documents --example render -- OUT_DIR [N]` writes a usage copy and an
//! approval copy with N qualification lines (default 3), signed with a throw-away PKI, their
//! PNG previews, and the root to trust (`root.pem`).

use chrono::{TimeZone, Utc};
use zizhi_documents::{CopyContent, Fonts, make_pdf, preview, sample};
use zizhi_shared::CopyKind;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let n: usize = std::env::args().nth(2).map_or(Ok(3), |s| s.parse())?;
    std::fs::create_dir_all(&out)?;
    let fonts = Fonts::load(None)?;
    let (root, issuer, enterprise) = sample::pki();
    let cert = sample::certificate(n);
    let terms = sample::usage_terms();
    let qr = sample::qr_text();
    for (kind, usage) in [(CopyKind::Usage, Some(&terms)), (CopyKind::Approval, None)] {
        let content = CopyContent {
            certificate: &cert,
            kind,
            usage,
            copy_id: 123,
            qr_text: &qr,
            generated_at: Utc
                .with_ymd_and_hms(2026, 11, 25, 5, 2, 0)
                .single()
                .ok_or("time")?,
        };
        let t = std::time::Instant::now();
        let signer = (kind == CopyKind::Usage).then_some(&enterprise);
        let pdf = make_pdf(&content, &fonts, &issuer, signer)?;
        let took = t.elapsed();
        let png = preview::png(&pdf, preview::PREVIEW_DPI)?;
        let stem = format!("{}-{n}", kind.code());
        std::fs::write(out.join(format!("{stem}.pdf")), &pdf)?;
        std::fs::write(out.join(format!("{stem}.png")), &png)?;
        println!("{stem}: {} bytes, {took:?}", pdf.len());
    }
    std::fs::write(out.join("root.pem"), root.certificate_pem()?)?;
    Ok(())
}
