//! PAdES signatures as incremental updates (ISO 32000-1 §7.5.6, §12.8; ETSI EN 319 142-1).
//!
//! Each signature appends one revision to the file: the objects it changes, a classic xref
//! section and a trailer pointing back with `/Prev`. Earlier bytes are never touched, so every
//! earlier signature stays valid. The first signature (the issuer's) is a certification
//! signature with DocMDP P=2: a validator accepts later form filling and signing, and flags any
//! other change, such as painting over a name. It also creates the empty signature fields
//! later signers fill, so their revisions only add a signature dictionary and set the field's
//! value, the smallest change a modification analysis has to accept.
//!
//! `lopdf` parses the previous revision and serialises the objects; the byte layout of the
//! appended revision (where `/ByteRange` and `/Contents` land) is written here, because the
//! signature covers exact byte offsets.

use std::io::Write as _;

use chrono::{DateTime, Utc};
use lopdf::{Dictionary, Object, ObjectId, StringFormat};
use sha2::{Digest, Sha256};

use crate::DocumentError;
use crate::pki::Signer;

/// Bytes left free in each signature's `/Contents` beyond the CMS itself, so a later
/// RFC 3161 signature timestamp (an unsigned attribute carrying the TSA's token and
/// certificates, typically 2–5 KB) fits without re-signing.
pub const TIMESTAMP_RESERVE: usize = 6 * 1024;

/// Field flag bits for the signature widget: Print (4) + Locked (128).
const WIDGET_FLAGS: i64 = 132;

/// What a signature does to the document.
#[derive(Debug, Clone, Copy)]
pub enum SignatureRole<'a> {
    /// The first signature: certifies the document (DocMDP P=2) and creates the empty
    /// signature fields named in `later_fields` for the signers that follow.
    Certify { later_fields: &'a [&'a str] },
    /// Fills an empty signature field created by the certifier.
    Approve,
}

/// One signature to add.
#[derive(Debug, Clone, Copy)]
pub struct SignatureSpec<'a> {
    /// Signature field name (`/T`), ASCII.
    pub field: &'a str,
    /// What the field is, for readers (`/TU`), e.g. 发证机关电子签名.
    pub label: &'a str,
    pub signer: &'a Signer,
    /// `/Reason`, e.g. 发证机关签发电子资质证书.
    pub reason: &'a str,
    /// `/Location`.
    pub location: &'a str,
    /// `/M`, the claimed signing time (no timestamp authority vouches for it yet).
    pub time: DateTime<Utc>,
    pub role: SignatureRole<'a>,
}

fn bad(e: impl std::fmt::Display) -> DocumentError {
    DocumentError::Pdf(e.to_string())
}

/// A PDF text string: plain when ASCII, UTF-16BE with a byte-order mark otherwise.
pub(crate) fn text(s: &str) -> Object {
    if s.is_ascii() {
        Object::String(s.as_bytes().to_vec(), StringFormat::Literal)
    } else {
        let mut bytes = vec![0xfe, 0xff];
        for unit in s.encode_utf16() {
            bytes.extend_from_slice(&unit.to_be_bytes());
        }
        Object::String(bytes, StringFormat::Hexadecimal)
    }
}

fn name(s: &str) -> Object {
    Object::Name(s.as_bytes().to_vec())
}

/// `D:YYYYMMDDHHmmSS+08'00'`, in China Standard Time as the certificate prints it.
pub(crate) fn pdf_date(t: DateTime<Utc>) -> String {
    let cst = zizhi_shared::time::in_beijing(t);
    format!("D:{}+08'00'", cst.format("%Y%m%d%H%M%S"))
}

fn serialise(object: &Object) -> Result<Vec<u8>, DocumentError> {
    let mut out = Vec::new();
    lopdf::Writer::write_object(&mut out, object).map_err(bad)?;
    Ok(out)
}

/// The offset the last `startxref` points at: the previous revision's xref section.
fn last_startxref(pdf: &[u8]) -> Result<usize, DocumentError> {
    let at = pdf
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or_else(|| bad("no startxref"))?;
    let digits: String = pdf[at + 9..]
        .iter()
        .map(|&b| b as char)
        .skip_while(|c| c.is_ascii_whitespace())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().map_err(bad)
}

fn signature_fields(doc: &lopdf::Document) -> Vec<(ObjectId, &Dictionary)> {
    doc.objects
        .iter()
        .filter_map(|(id, o)| o.as_dict().ok().map(|d| (*id, d)))
        .filter(|(_, d)| d.get(b"FT").and_then(Object::as_name).ok() == Some(b"Sig"))
        .collect()
}

/// Adds one signature to `pdf` as an incremental update.
pub fn sign(pdf: &[u8], spec: &SignatureSpec<'_>) -> Result<Vec<u8>, DocumentError> {
    let doc = lopdf::Document::load_mem(pdf).map_err(bad)?;
    let prev_xref = last_startxref(pdf)?;
    let size = doc
        .trailer
        .get(b"Size")
        .and_then(Object::as_i64)
        .map_or(0, |s| s as u32)
        .max(doc.max_id + 1);
    let mut next = size;
    let mut alloc = || {
        next += 1;
        next - 1
    };
    let sig_id = alloc();
    let sig_ref = Object::Reference((sig_id, 0));
    // Objects of the new revision other than the signature dictionary.
    let mut changed: Vec<(u32, Object)> = Vec::new();

    let field_dict = |t: &str, label: &str, page: ObjectId, value: Option<&Object>| {
        let mut d = Dictionary::new();
        d.set("Type", name("Annot"));
        d.set("Subtype", name("Widget"));
        d.set("FT", name("Sig"));
        d.set("T", text(t));
        d.set("TU", text(label));
        d.set("F", WIDGET_FLAGS);
        d.set("Rect", vec![0.into(), 0.into(), 0.into(), 0.into()]);
        d.set("P", Object::Reference(page));
        if let Some(v) = value {
            d.set("V", v.clone());
        }
        Object::Dictionary(d)
    };

    match spec.role {
        SignatureRole::Certify { later_fields } => {
            if !signature_fields(&doc).is_empty() {
                return Err(bad("the document already has signature fields"));
            }
            let root_id = doc
                .trailer
                .get(b"Root")
                .and_then(Object::as_reference)
                .map_err(bad)?;
            let page_id = *doc
                .get_pages()
                .values()
                .next()
                .ok_or_else(|| bad("no page"))?;
            let mut field_refs = Vec::new();
            let own = alloc();
            changed.push((
                own,
                field_dict(spec.field, spec.label, page_id, Some(&sig_ref)),
            ));
            field_refs.push(Object::Reference((own, 0)));
            for f in later_fields {
                let id = alloc();
                changed.push((id, field_dict(f, f, page_id, None)));
                field_refs.push(Object::Reference((id, 0)));
            }
            let form_id = alloc();
            let mut form = Dictionary::new();
            form.set("Fields", field_refs.clone());
            form.set("SigFlags", 3);
            changed.push((form_id, Object::Dictionary(form)));

            let mut catalog = doc.get_dictionary(root_id).map_err(bad)?.clone();
            catalog.set("AcroForm", Object::Reference((form_id, 0)));
            let mut perms = Dictionary::new();
            perms.set("DocMDP", sig_ref.clone());
            catalog.set("Perms", perms);
            changed.push((root_id.0, Object::Dictionary(catalog)));

            let mut page = doc.get_dictionary(page_id).map_err(bad)?.clone();
            let mut annots = match page.get(b"Annots") {
                Ok(a) => doc
                    .dereference(a)
                    .map_err(bad)?
                    .1
                    .as_array()
                    .map_err(bad)?
                    .clone(),
                Err(_) => Vec::new(),
            };
            annots.extend(field_refs);
            page.set("Annots", annots);
            changed.push((page_id.0, Object::Dictionary(page)));
        }
        SignatureRole::Approve => {
            let (id, field) = signature_fields(&doc)
                .into_iter()
                .find(|(_, d)| {
                    d.get(b"T").ok().and_then(|t| t.as_str().ok()) == Some(spec.field.as_bytes())
                })
                .ok_or_else(|| bad(format!("no signature field {}", spec.field)))?;
            if field.has(b"V") {
                return Err(bad(format!(
                    "signature field {} is already signed",
                    spec.field
                )));
            }
            let mut field = field.clone();
            field.set("V", sig_ref.clone());
            changed.push((id.0, Object::Dictionary(field)));
        }
    }

    // The signature dictionary without /ByteRange and /Contents, which are written by hand
    // below at known offsets.
    let mut sig = Dictionary::new();
    sig.set("Type", name("Sig"));
    sig.set("Filter", name("Adobe.PPKLite"));
    sig.set("SubFilter", name("ETSI.CAdES.detached"));
    sig.set("Name", text(&spec.signer.common_name()));
    sig.set("M", text(&pdf_date(spec.time)));
    sig.set("Reason", text(spec.reason));
    sig.set("Location", text(spec.location));
    if let SignatureRole::Certify { .. } = spec.role {
        let mut params = Dictionary::new();
        params.set("Type", name("TransformParams"));
        params.set("P", 2);
        params.set("V", name("1.2"));
        let mut reference = Dictionary::new();
        reference.set("Type", name("SigRef"));
        reference.set("TransformMethod", name("DocMDP"));
        reference.set("TransformParams", params);
        sig.set("Reference", vec![Object::Dictionary(reference)]);
    }
    let mut head = serialise(&Object::Dictionary(sig))?;
    head.truncate(head.len() - 2); // drop the closing ">>"

    // Size the placeholder from a trial CMS (its length does not depend on the digest, up to
    // the few bytes an ECDSA signature's DER can vary), plus room for a timestamp.
    let cms_len = crate::cms::signed_data(spec.signer, &[0; 32])?.len();
    let contents_len = 2 * (cms_len + 8 + TIMESTAMP_RESERVE);

    let mut out = pdf.to_vec();
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    let mut offsets: Vec<(u32, usize)> = Vec::new();
    for (id, object) in &changed {
        offsets.push((*id, out.len()));
        writeln!(out, "{id} 0 obj").map_err(bad)?;
        out.extend_from_slice(&serialise(object)?);
        out.extend_from_slice(b"\nendobj\n");
    }
    offsets.push((sig_id, out.len()));
    writeln!(out, "{sig_id} 0 obj").map_err(bad)?;
    out.extend_from_slice(&head);
    out.extend_from_slice(b"/ByteRange ");
    let byte_range_at = out.len();
    const BYTE_RANGE_WIDTH: usize = 40; // "[0 a b c]" padded with spaces
    out.extend_from_slice(&[b' '; BYTE_RANGE_WIDTH]);
    out.extend_from_slice(b"/Contents ");
    let contents_start = out.len();
    out.push(b'<');
    out.resize(out.len() + contents_len, b'0');
    out.push(b'>');
    let contents_end = out.len();
    out.extend_from_slice(b">>\nendobj\n");

    // Classic xref section: one subsection per run of consecutive object numbers.
    offsets.sort();
    let xref_at = out.len();
    out.extend_from_slice(b"xref\n");
    let mut i = 0;
    while i < offsets.len() {
        let mut j = i + 1;
        while j < offsets.len() && offsets[j].0 == offsets[j - 1].0 + 1 {
            j += 1;
        }
        writeln!(out, "{} {}", offsets[i].0, j - i).map_err(bad)?;
        for (_, off) in &offsets[i..j] {
            write!(out, "{off:010} 00000 n\r\n").map_err(bad)?;
        }
        i = j;
    }
    let mut trailer = Dictionary::new();
    trailer.set("Size", i64::from(next));
    for key in [&b"Root"[..], b"Info", b"ID"] {
        if let Ok(v) = doc.trailer.get(key) {
            trailer.set(key, v.clone());
        }
    }
    trailer.set("Prev", prev_xref as i64);
    out.extend_from_slice(b"trailer\n");
    out.extend_from_slice(&serialise(&Object::Dictionary(trailer))?);
    write!(out, "\nstartxref\n{xref_at}\n%%EOF\n").map_err(bad)?;

    // Everything but the /Contents hex string is signed.
    let range = format!(
        "[0 {contents_start} {contents_end} {}]",
        out.len() - contents_end
    );
    if range.len() > BYTE_RANGE_WIDTH {
        return Err(bad("byte range does not fit its placeholder"));
    }
    out[byte_range_at..byte_range_at + range.len()].copy_from_slice(range.as_bytes());
    let mut h = Sha256::new();
    h.update(&out[..contents_start]);
    h.update(&out[contents_end..]);
    let digest: [u8; 32] = h.finalize().into();
    let cms = crate::cms::signed_data(spec.signer, &digest)?;
    let hex = hex::encode_upper(&cms);
    if hex.len() > contents_len {
        return Err(bad("signature larger than its placeholder"));
    }
    out[contents_start + 1..contents_start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    fn spec<'a>(signer: &'a Signer, field: &'a str, role: SignatureRole<'a>) -> SignatureSpec<'a> {
        SignatureSpec {
            field,
            label: "签名",
            signer,
            reason: "测试",
            location: "上海",
            time: Utc::now(),
            role,
        }
    }

    #[test]
    fn each_signature_appends_a_revision_whose_byte_range_covers_all_but_its_contents() {
        let fonts = crate::Fonts::shipped().unwrap();
        let cert = sample::certificate(2);
        let qr = sample::qr_text();
        let terms = sample::usage_terms();
        let content = crate::CopyContent {
            certificate: &cert,
            kind: zizhi_shared::CopyKind::Usage,
            usage: Some(&terms),
            copy_id: 1,
            qr_text: &qr,
            generated_at: Utc::now(),
        };
        let pdf = crate::layout::render(&content, &fonts).unwrap();
        let (_, issuer, enterprise) = sample::pki();
        let one = sign(
            &pdf,
            &spec(
                &issuer,
                "A",
                SignatureRole::Certify {
                    later_fields: &["B"],
                },
            ),
        )
        .unwrap();
        assert!(one.starts_with(&pdf), "earlier bytes are never rewritten");
        // Certifying twice, or filling a field that does not exist, is refused.
        assert!(
            sign(
                &one,
                &spec(&issuer, "C", SignatureRole::Certify { later_fields: &[] })
            )
            .is_err()
        );
        assert!(sign(&one, &spec(&enterprise, "X", SignatureRole::Approve)).is_err());
        let two = sign(&one, &spec(&enterprise, "B", SignatureRole::Approve)).unwrap();
        assert!(two.starts_with(&one));
        assert!(sign(&two, &spec(&enterprise, "B", SignatureRole::Approve)).is_err());

        // The last signature's ByteRange: [0 a b c] with b + c = file length and the gap
        // exactly the hex string <…>.
        let at = two.windows(11).rposition(|w| w == b"/ByteRange ").unwrap() + 11;
        let end = at + two[at..].iter().position(|&b| b == b']').unwrap();
        let nums: Vec<usize> = std::str::from_utf8(&two[at + 1..end])
            .unwrap()
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(nums[0], 0);
        assert_eq!(nums[2] + nums[3], two.len());
        assert_eq!(two[nums[1]], b'<');
        assert_eq!(two[nums[2] - 1], b'>');
        // Room for a timestamp is left in the placeholder.
        assert!(nums[2] - nums[1] > 2 * TIMESTAMP_RESERVE);
    }
}
