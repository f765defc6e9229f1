//! The independent tools the document tests check our PDFs with: poppler (`pdfsig`,
//! `pdftotext`, `pdffonts`, `pdftoppm`), NSS `certutil`, pyHanko and zbar. A missing tool
//! fails the test with the package to install; nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(program: &str, args: &[&str], package: &str) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} ({package}) is required for this test: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A scratch directory holding an NSS database that trusts `root_pem`, for `pdfsig`.
pub struct Validators {
    pub dir: PathBuf,
    pub root: PathBuf,
    nss: String,
}

impl Validators {
    pub fn new(dir: &Path, root_pem: &str) -> Validators {
        let nss_dir = dir.join("nss");
        std::fs::create_dir_all(&nss_dir).unwrap();
        let root = dir.join("root.pem");
        std::fs::write(&root, root_pem).unwrap();
        let nss = format!("sql:{}", nss_dir.display());
        let o = run(
            "certutil",
            &["-N", "--empty-password", "-d", &nss],
            "libnss3-tools",
        );
        assert!(o.status.success(), "certutil -N: {}", text(&o));
        let o = run(
            "certutil",
            &[
                "-A",
                "-n",
                "root",
                "-t",
                "CT,C,C",
                "-i",
                root.to_str().unwrap(),
                "-d",
                &nss,
            ],
            "libnss3-tools",
        );
        assert!(o.status.success(), "certutil -A: {}", text(&o));
        Validators {
            dir: dir.to_path_buf(),
            root,
            nss,
        }
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// `pdfsig`'s report. It exits 0 even when a signature fails, so callers count lines.
    pub fn pdfsig(&self, pdf: &Path) -> PdfSig {
        let o = run(
            "pdfsig",
            &["-nssdir", &self.nss, pdf.to_str().unwrap()],
            "poppler-utils",
        );
        let report = text(&o);
        PdfSig {
            signatures: report.matches("Signature Field Name:").count(),
            valid: report.matches("Signature is Valid.").count(),
            trusted: report.matches("Certificate is Trusted.").count(),
            report,
        }
    }

    /// pyHanko's executive summary: one `(field, verdict)` per signature.
    pub fn pyhanko(&self, pdf: &Path) -> (Vec<(String, String)>, String) {
        // As a module, so the test does not depend on where pip put the script.
        let o = run(
            "python3",
            &[
                "-m",
                "pyhanko",
                "sign",
                "validate",
                "--executive-summary",
                "--no-revocation-check",
                "--trust-replace",
                "--trust",
                self.root.to_str().unwrap(),
                pdf.to_str().unwrap(),
            ],
            "pip install pyhanko pyhanko-cli",
        );
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        let verdicts = out
            .lines()
            .filter_map(|l| {
                let parts: Vec<&str> = l.split(':').collect();
                (parts.len() >= 3).then(|| (parts[0].to_owned(), parts[2..].join(":")))
            })
            .collect();
        (verdicts, text(&o))
    }
}

pub struct PdfSig {
    pub signatures: usize,
    pub valid: usize,
    pub trusted: usize,
    pub report: String,
}

/// `pdftotext` of the page, whitespace removed (wrapped lines join up again).
pub fn pdftotext(pdf: &Path) -> String {
    let o = run("pdftotext", &[pdf.to_str().unwrap(), "-"], "poppler-utils");
    assert!(o.status.success(), "pdftotext: {}", text(&o));
    String::from_utf8_lossy(&o.stdout)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// `pdffonts` rows: (name, embedded, subset).
pub fn pdffonts(pdf: &Path) -> Vec<(String, bool, bool)> {
    let o = run("pdffonts", &[pdf.to_str().unwrap()], "poppler-utils");
    assert!(o.status.success(), "pdffonts: {}", text(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .skip(2)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            // name type… encoding emb sub uni object ID: the yes/no columns are 5th–3rd last.
            (cols.len() >= 6).then(|| {
                let n = cols.len();
                (
                    cols[0].to_owned(),
                    cols[n - 5] == "yes",
                    cols[n - 4] == "yes",
                )
            })
        })
        .collect()
}

/// Rasterises the page with `pdftoppm` and reads every QR code on it with `zbarimg`.
pub fn qr_codes_on_page(pdf: &Path, dpi: u32) -> Vec<String> {
    let stem = pdf.with_extension("");
    let o = run(
        "pdftoppm",
        &[
            "-r",
            &dpi.to_string(),
            "-png",
            "-singlefile",
            pdf.to_str().unwrap(),
            stem.to_str().unwrap(),
        ],
        "poppler-utils",
    );
    assert!(o.status.success(), "pdftoppm: {}", text(&o));
    zbar(&stem.with_extension("png"))
}

/// Every QR code `zbarimg` reads in an image. Only QR codes: with every symbology on, zbar
/// has read a run of printed text as a six-digit one-dimensional barcode.
pub fn zbar(png: &Path) -> Vec<String> {
    let o = run(
        "zbarimg",
        &[
            "-q",
            "--raw",
            "-Sdisable",
            "-Sqrcode.enable",
            png.to_str().unwrap(),
        ],
        "zbar-tools",
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect()
}

/// How many glyphs the PDF draws as `.notdef` (glyph 0): every text-showing operator's codes,
/// in the page and in every form XObject. Our fonts are all CID-keyed with Identity-H, two
/// bytes a glyph, so a code 0x0000 is the missing-glyph box. `pdftotext` cannot tell: the
/// ToUnicode map gives back the intended character even for a box.
pub fn notdef_glyphs(pdf: &[u8]) -> usize {
    use zizhi_documents::lopdf::{Document, Object, content::Content};
    let doc = Document::load_mem(pdf).expect("a PDF");
    let mut streams: Vec<Vec<u8>> = doc
        .get_pages()
        .values()
        .map(|&id| doc.get_page_content(id))
        .collect();
    for obj in doc.objects.values() {
        if let Object::Stream(stream) = obj
            && stream
                .dict
                .get(b"Subtype")
                .is_ok_and(|s| s.as_name().is_ok_and(|n| n == b"Form"))
        {
            streams.push(stream.decompressed_content().expect("form content"));
        }
    }
    let mut shown = 0;
    let mut notdef = 0;
    for data in streams {
        let content = Content::decode(&data).expect("content stream");
        let mut strings = Vec::new();
        for op in &content.operations {
            match op.operator.as_str() {
                "Tj" | "'" | "\"" => strings.extend(op.operands.iter()),
                "TJ" => {
                    if let Some(Object::Array(a)) = op.operands.first() {
                        strings.extend(a.iter());
                    }
                }
                _ => {}
            }
        }
        for s in strings {
            if let Object::String(bytes, _) = s {
                for code in bytes.chunks(2) {
                    shown += 1;
                    if code == [0, 0] {
                        notdef += 1;
                    }
                }
            }
        }
    }
    assert!(shown > 0, "no text found in the PDF's content streams");
    notdef
}
