//! Time to render and sign one usage copy (warm: fonts loaded, keys unlocked), and how it and
//! the PDF size grow with the number of qualification lines. Sizes are printed once per case.
//!
//! `cargo bench -p zizhi-documents`

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use zizhi_documents::{CopyContent, Fonts, make_pdf, preview, sample};
use zizhi_shared::CopyKind;

fn documents(c: &mut Criterion) {
    let fonts = Fonts::load(None).expect("fonts");
    eprintln!("fonts: {}", fonts.source());
    let (_, issuer, enterprise) = sample::pki();
    let terms = sample::usage_terms();
    let qr = sample::qr_text();
    let mut group = c.benchmark_group("usage_copy_render_and_sign");
    group.sample_size(20);
    for n in [1usize, 6, 12, 20] {
        let cert = sample::certificate(n);
        let content = CopyContent {
            certificate: &cert,
            kind: CopyKind::Usage,
            usage: Some(&terms),
            copy_id: 123,
            qr_text: &qr,
            generated_at: Utc::now(),
        };
        let pdf = make_pdf(&content, &fonts, &issuer, Some(&enterprise)).expect("pdf");
        let png = preview::png(&pdf, preview::PREVIEW_DPI).expect("png");
        eprintln!(
            "{n:>2} qualification lines: PDF {} bytes, preview PNG {} bytes",
            pdf.len(),
            png.len()
        );
        group.bench_with_input(BenchmarkId::new("lines", n), &content, |b, content| {
            b.iter(|| make_pdf(content, &fonts, &issuer, Some(&enterprise)).expect("pdf"))
        });
    }
    group.finish();
    let cert = sample::certificate(6);
    let content = CopyContent {
        certificate: &cert,
        kind: CopyKind::Usage,
        usage: Some(&terms),
        copy_id: 123,
        qr_text: &qr,
        generated_at: Utc::now(),
    };
    let pdf = make_pdf(&content, &fonts, &issuer, Some(&enterprise)).expect("pdf");
    c.bench_function("preview_png_110dpi", |b| {
        b.iter(|| preview::png(&pdf, preview::PREVIEW_DPI).expect("png"))
    });
}

criterion_group!(benches, documents);
criterion_main!(benches);
