//! The certificate page (A4, portrait) in the guide's regions:
//! A the category title; B the enterprise; C number, validity and qualifications; D the usage
//! statement (usage copies) or the 批准件 notice (approval copies); E the verification QR code;
//! F the issuer's seal, name and approval date; and the footer with 本件生成日期.
//!
//! Regions A–D flow from the top, E and F are anchored to the bottom. The qualification list
//! wraps to as many lines as it needs; when the page would overflow, region C's type shrinks
//! step by step (down to 9 pt) so the copy always stays one page.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use krilla::Document;
use krilla::page::PageSettings;
use zizhi_shared::{Certificate, CopyKind, UsageTerms};

use crate::DocumentError;
use crate::draw::{
    BORDER, Canvas, INK, LABEL, MM, MUTED, SEAL_RED, Style, WHITE, qr, rosette, seal,
};
use crate::fonts::Fonts;

/// Everything printed on one copy.
#[derive(Debug, Clone, Copy)]
pub struct CopyContent<'a> {
    pub certificate: &'a Certificate,
    pub kind: CopyKind,
    /// Present exactly for usage copies.
    pub usage: Option<&'a UsageTerms>,
    /// The copy's number in the register (件号).
    pub copy_id: u64,
    /// The signed QR text of this copy.
    pub qr_text: &'a str,
    /// 本件生成日期.
    pub generated_at: DateTime<Utc>,
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
/// Content column.
const LEFT: f32 = 27.0;
const RIGHT: f32 = 183.0;
/// Top of regions E/F: everything above must end here.
const BOTTOM_BLOCK: f32 = 207.0;
/// Modules of at least 0.55 mm, and never a code under 42 mm (DESIGN.md: a V13 code with
/// its quiet zone at 0.55 mm is about 4.2 cm).
const QR_MIN_SIDE: f32 = 42.0;
const QR_MIN_MODULE: f32 = 0.55;

/// 2030年5月31日
pub fn date_zh(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// 2026年11月25日 13:02, in China Standard Time.
pub fn generated_zh(t: DateTime<Utc>) -> String {
    let t = zizhi_shared::time::in_beijing(t);
    format!("{} {}", date_zh(t.date_naive()), t.format("%H:%M"))
}

/// Every text the page prints, so a caller (or test) can check the font covers it first.
pub fn printed_texts(c: &CopyContent<'_>) -> Vec<String> {
    let cert = c.certificate;
    let e = &cert.enterprise;
    let mut t = vec![
        cert.category.certificate_title(),
        e.name.clone(),
        e.address.clone(),
        e.credit_code.to_string(),
        e.legal_representative.clone(),
        format!("{}万元", e.registered_capital_wan),
        e.economic_nature.clone(),
        cert.number.to_string(),
        cert.issuer.clone(),
    ];
    t.extend(cert.qualifications.iter().map(|q| q.display_zh()));
    if let Some(u) = c.usage {
        t.push(u.purpose.clone());
    }
    t
}

/// Renders the unsigned PDF of one copy.
pub fn render(c: &CopyContent<'_>, fonts: &Fonts) -> Result<Vec<u8>, DocumentError> {
    if c.usage.is_some() != (c.kind == CopyKind::Usage) {
        return Err(DocumentError::Layout(
            "a usage copy needs usage terms, an approval copy none".into(),
        ));
    }
    for t in printed_texts(c) {
        if let Some(ch) = fonts.missing(&t) {
            return Err(DocumentError::MissingGlyph(ch));
        }
    }
    let code = zizhi_shared::render::qr_code(c.qr_text)
        .map_err(|e| DocumentError::Layout(e.to_string()))?;

    let mut doc = Document::new();
    let cert = c.certificate;
    let kind = c.kind.name_zh();
    let created = zizhi_shared::time::in_beijing(c.generated_at);
    doc.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!(
                "{}（{kind}）{}",
                cert.category.certificate_title(),
                cert.number
            ))
            .authors(vec![cert.issuer.clone()])
            .creator("zizhi 电子资质证书".into())
            .language("zh-CN".into())
            .creation_date(
                krilla::metadata::DateTime::new(created.year() as u16)
                    .month(created.month() as u8)
                    .day(created.day() as u8)
                    .hour(chrono::Timelike::hour(&created) as u8)
                    .minute(chrono::Timelike::minute(&created) as u8)
                    .utc_offset_hour(8),
            ),
    );
    let settings = PageSettings::from_wh(PAGE_W * MM, PAGE_H * MM)
        .ok_or_else(|| DocumentError::Layout("page size".into()))?;
    let mut page = doc.start_page_with(settings);
    let mut surface = page.surface();
    let mut cv = Canvas {
        surface: &mut surface,
        fonts,
    };
    draw_page(&mut cv, c, &code)?;
    surface.finish();
    page.finish();
    doc.finish()
        .map_err(|e| DocumentError::Layout(format!("{e:?}")))
}

fn frame(cv: &mut Canvas<'_, '_>) {
    // Double rule: a heavier outer line and a hairline inside, with corner brackets.
    if let Some(p) = cv.rect(12.0, 12.0, PAGE_W - 24.0, PAGE_H - 24.0) {
        cv.stroke_path(&p, BORDER, 0.8, 1.0);
    }
    if let Some(p) = cv.rect(14.2, 14.2, PAGE_W - 28.4, PAGE_H - 28.4) {
        cv.stroke_path(&p, BORDER, 0.25, 1.0);
    }
    let l = 9.0;
    for (x, y, dx, dy) in [
        (17.0, 17.0, 1.0, 1.0),
        (PAGE_W - 17.0, 17.0, -1.0, 1.0),
        (17.0, PAGE_H - 17.0, 1.0, -1.0),
        (PAGE_W - 17.0, PAGE_H - 17.0, -1.0, -1.0),
    ] {
        cv.line(x, y, x + dx * l, y, BORDER, 0.5);
        cv.line(x, y, x, y + dy * l, BORDER, 0.5);
    }
}

/// A label and its value; the value wraps under itself. Returns the y after the last line.
fn field(
    cv: &mut Canvas<'_, '_>,
    (x, y): (f32, f32),
    width: f32,
    label: &str,
    value: &str,
    style: Style,
    leading: f32,
) -> f32 {
    let label_style = Style::new(style.size, false, LABEL);
    let lw = cv.width(label, label_style);
    cv.text(x, y, label, label_style);
    let lines = cv.wrap_text(value, width - lw, style);
    let mut y = y;
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            y += leading;
        }
        cv.text(x + lw, y, line, style);
    }
    y
}

fn draw_page(
    cv: &mut Canvas<'_, '_>,
    c: &CopyContent<'_>,
    code: &qrcode::QrCode,
) -> Result<(), DocumentError> {
    let cert = c.certificate;
    let e = &cert.enterprise;
    let mid = PAGE_W / 2.0;
    let width = RIGHT - LEFT;

    rosette(cv, mid, 148.0, 58.0);
    frame(cv);

    // Top line: what this file is, and which copy.
    let small = Style::new(8.5, false, MUTED);
    cv.text(LEFT, 25.0, "上海市建设工程企业电子资质证书", small);
    cv.text_right(
        RIGHT,
        25.0,
        &format!("件号 {} · 第 {} 版", c.copy_id, cert.version),
        small,
    );

    // A: the category title, and the kind of copy under it.
    let title = cert.category.certificate_title();
    cv.text_centred(mid, 45.0, &title, Style::new(27.0, true, INK));
    let badge = Style::new(12.0, true, WHITE);
    let badge_text = format!("〔{}〕", c.kind.name_zh());
    let bw = cv.width(&badge_text, badge) + 6.0;
    if let Some(p) = cv.rect(mid - bw / 2.0, 50.5, bw, 7.0) {
        let color = match c.kind {
            CopyKind::Usage => SEAL_RED,
            CopyKind::Approval => MUTED,
        };
        cv.fill_path(&p, color, 1.0);
    }
    cv.text_centred(mid, 55.6, &badge_text, badge);
    cv.line(LEFT, 63.0, RIGHT, 63.0, BORDER, 0.6);
    cv.line(LEFT, 64.0, RIGHT, 64.0, BORDER, 0.2);

    // B: the enterprise.
    let body = Style::new(12.0, false, INK);
    let leading = 8.6;
    let mut y = 77.0;
    y = field(
        cv,
        (LEFT, y),
        width,
        "企业名称：",
        &e.name,
        Style::new(12.5, true, INK),
        leading,
    ) + leading;
    y = field(
        cv,
        (LEFT, y),
        width,
        "注册地址：",
        &e.address,
        body,
        leading,
    ) + leading;
    field(
        cv,
        (LEFT, y),
        width * 0.62,
        "统一社会信用代码：",
        e.credit_code.as_str(),
        body,
        leading,
    );
    field(
        cv,
        (LEFT + width * 0.62, y),
        width * 0.38,
        "法定代表人：",
        &e.legal_representative,
        body,
        leading,
    );
    y += leading;
    field(
        cv,
        (LEFT, y),
        width * 0.62,
        "注册资本：",
        &format!("{}万元", e.registered_capital_wan),
        body,
        leading,
    );
    y += leading;
    y = field(
        cv,
        (LEFT, y),
        width,
        "经济性质：",
        &e.economic_nature,
        body,
        leading,
    );
    y += 5.0;
    cv.line(LEFT, y, RIGHT, y, BORDER, 0.2);
    y += 10.0;

    // C: number, validity, qualifications.
    field(
        cv,
        (LEFT, y),
        width * 0.5,
        "证书编号：",
        cert.number.as_str(),
        Style::new(12.0, true, INK),
        leading,
    );
    field(
        cv,
        (LEFT + width * 0.5, y),
        width * 0.5,
        "有效期至：",
        &date_zh(cert.valid_until),
        Style::new(12.0, true, INK),
        leading,
    );
    y += leading + 2.0;
    let items: Vec<String> = cert.qualifications.iter().map(|q| q.display_zh()).collect();
    let d_height = 22.0;
    // Shrink region C until C and D fit above E/F.
    let mut size = 12.5f32;
    let (lines, lead, qstyle) = loop {
        let st = Style::new(size, false, INK);
        let label_w = cv.width("资质类别及等级：", Style::new(size, false, LABEL));
        let lines = cv.wrap_items(&items, "，", width - label_w, st);
        let lead = size / MM * 1.75;
        let end = y + (lines.len() as f32 - 1.0) * lead + 6.0 + d_height;
        if end <= BOTTOM_BLOCK || size <= 9.0 {
            if end > BOTTOM_BLOCK {
                return Err(DocumentError::Layout(format!(
                    "{} 项资质在一页内排不下",
                    items.len()
                )));
            }
            break (lines, lead, st);
        }
        size -= 0.5;
    };
    let label_style = Style::new(qstyle.size, false, LABEL);
    let label_w = cv.width("资质类别及等级：", label_style);
    cv.text(LEFT, y, "资质类别及等级：", label_style);
    for (i, line) in lines.iter().enumerate() {
        cv.text(LEFT + label_w, y + i as f32 * lead, line, qstyle);
    }
    y += (lines.len() as f32 - 1.0) * lead + 6.0;

    // D: the usage statement, or the approval copy's notice.
    let box_h = 17.0;
    let y_box = y
        .max(BOTTOM_BLOCK - d_height - 2.0)
        .min(BOTTOM_BLOCK - box_h - 3.0);
    if let Some(p) = cv.rect(LEFT, y_box, width, box_h) {
        let (bg, edge) = match c.kind {
            CopyKind::Usage => ((0xfd, 0xf1, 0xef), SEAL_RED),
            CopyKind::Approval => ((0xf3, 0xf1, 0xee), MUTED),
        };
        cv.fill_path(&p, bg, 1.0);
        cv.stroke_path(&p, edge, 0.3, 1.0);
    }
    match c.usage {
        Some(u) => {
            let st = Style::new(12.0, true, INK);
            let lines = cv.wrap_text(&format!("本使用件仅用于：{}", u.purpose), width - 8.0, st);
            // Purposes are at most 30 characters: one line, two at 12 pt in the worst case.
            let (first, rest) = lines
                .split_first()
                .map_or(("", &[][..]), |(f, r)| (f.as_str(), r));
            cv.text(LEFT + 4.0, y_box + 7.0, first, st);
            let mut yy = y_box + 7.0;
            for l in rest {
                yy += 5.2;
                cv.text(LEFT + 4.0, yy, l, st);
            }
            cv.text(
                LEFT + 4.0,
                (yy + 6.5).max(y_box + 13.5),
                &format!("使用期限 {} 至 {}", u.from, u.to),
                Style::new(11.0, false, INK),
            );
        }
        None => {
            cv.text(
                LEFT + 4.0,
                y_box + 7.0,
                "批准件：仅供企业内部展示",
                Style::new(12.0, true, INK),
            );
            cv.text(
                LEFT + 4.0,
                y_box + 13.5,
                "不得用于投标、承接业务等经营活动；经营活动请使用使用件。",
                Style::new(10.5, false, INK),
            );
        }
    }

    // E: the QR code, bottom left, with its caption.
    let n = code.width() as f32 + 8.0;
    let side = QR_MIN_SIDE.max(n * QR_MIN_MODULE);
    let qr_y = BOTTOM_BLOCK + 3.0;
    qr(cv, LEFT - 2.0, qr_y, side, code);
    let cap = Style::new(8.0, false, MUTED);
    cv.text(
        LEFT,
        qr_y + side + 3.5,
        "扫描二维码验证证书真伪，查询企业最新资质信息",
        cap,
    );

    // F: the seal first, then issuer and approval date over it, so the text stays black and
    // legible in every renderer (a multiply blend would do the same on paper, but not all
    // rasterisers support blending).
    let fx = RIGHT - 4.0;
    let issuer_style = Style::new(12.0, true, INK);
    let iy = qr_y + 21.0;
    let iw = cv.width(&cert.issuer, issuer_style);
    // No legend under the star: the date line crosses the seal where it would stand.
    seal(cv, fx - iw / 2.0, iy - 2.0, 42.0, &cert.issuer, "");
    cv.text_right(fx, iy - 9.0, "发证机关", Style::new(11.0, false, LABEL));
    cv.text_right(fx, iy, &cert.issuer, issuer_style);
    cv.text_right(
        fx,
        iy + 9.0,
        &format!("批准日期：{}", date_zh(cert.approved_on)),
        Style::new(11.0, false, INK),
    );

    // Footer.
    let fy = PAGE_H - 21.5;
    cv.line(LEFT, fy - 5.0, RIGHT, fy - 5.0, BORDER, 0.2);
    cv.text(
        LEFT,
        fy,
        &format!("本件生成日期：{}", generated_zh(c.generated_at)),
        Style::new(10.0, false, INK),
    );
    let note = match c.kind {
        CopyKind::Usage => "本证书经发证机关和企业数字签名，电子件与打印件具有同等效力",
        CopyKind::Approval => "本证书经发证机关数字签名；批准件不作经营活动之用",
    };
    cv.text_right(RIGHT, fy, note, Style::new(8.0, false, MUTED));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;
    use chrono::TimeZone;

    fn content<'a>(
        cert: &'a Certificate,
        qr: &'a str,
        usage: Option<&'a UsageTerms>,
    ) -> CopyContent<'a> {
        CopyContent {
            certificate: cert,
            kind: if usage.is_some() {
                CopyKind::Usage
            } else {
                CopyKind::Approval
            },
            usage,
            copy_id: 7,
            qr_text: qr,
            generated_at: Utc.with_ymd_and_hms(2026, 11, 25, 5, 2, 0).unwrap(),
        }
    }

    #[test]
    fn times_print_in_china_standard_time_to_the_minute() {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 17, 2, 59).unwrap();
        assert_eq!(generated_zh(t), "2026年11月26日 01:02");
    }

    #[test]
    fn a_character_missing_from_the_font_is_refused_not_printed_as_a_box() {
        let fonts = Fonts::shipped().unwrap();
        let mut cert = sample::certificate(2);
        // Extension I: no face of the chain draws it yet (the register refuses it at entry).
        cert.enterprise.name = "上海\u{2EBF0}建设有限公司".into();
        let qr = sample::qr_text();
        let err = render(&content(&cert, &qr, None), &fonts).unwrap_err();
        assert!(
            matches!(err, DocumentError::MissingGlyph('\u{2EBF0}')),
            "{err}"
        );
    }

    #[test]
    fn twenty_qualification_lines_still_fit_one_page_and_a_kind_needs_matching_terms() {
        let fonts = Fonts::shipped().unwrap();
        let cert = sample::certificate(20);
        let qr = sample::qr_text();
        let pdf = render(&content(&cert, &qr, None), &fonts).unwrap();
        let doc = lopdf::Document::load_mem(&pdf).unwrap();
        assert_eq!(doc.get_pages().len(), 1);
        let terms = sample::usage_terms();
        let mut c = content(&cert, &qr, Some(&terms));
        c.kind = CopyKind::Approval;
        assert!(matches!(render(&c, &fonts), Err(DocumentError::Layout(_))));
    }
}
