//! What the official account answers: a verdict for a scanned or pasted code (verified exactly
//! as the API does), 资质详情 for a certificate number, the enterprise for a credit code or a
//! name fragment, and a short Chinese help text for anything else.

use chrono::Utc;
use zizhi_shared::verdict::Verdict;
use zizhi_shared::{CertificateNumber, CreditCode};

use super::message::{Article, Event, Inbound, Message, Reply};
use crate::app::AppState;
use crate::error::AppError;
use crate::links;
use crate::register::lookup::{EnterpriseSummary, Page};

/// Menu keys of `assets/chat/menu.json`.
pub mod menu_keys {
    /// 资质验证 (`scancode_waitmsg`)
    pub const SCAN: &str = "ZIZHI_SCAN";
    /// 资质查询
    pub const QUERY: &str = "ZIZHI_QUERY";
    /// 验证说明
    pub const HOWTO: &str = "ZIZHI_HOWTO";
    /// 使用帮助
    pub const HELP: &str = "ZIZHI_HELP";
}

/// The platform shows at most 2048 bytes of a text reply.
const MAX_TEXT_BYTES: usize = 2000;
/// Names listed in one text reply before pointing to the search page.
const LISTED: u32 = 5;

/// A reply and how to record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub reply: Reply,
    pub kind: &'static str,
    pub subject: Option<String>,
    pub outcome: &'static str,
}

impl Answer {
    fn new(reply: Reply, kind: &'static str, outcome: &'static str) -> Answer {
        Answer {
            reply,
            kind,
            subject: None,
            outcome,
        }
    }

    fn about(mut self, subject: impl ToString) -> Answer {
        self.subject = Some(subject.to_string());
        self
    }
}

/// What a text message asks for, decided by its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    Help,
    Number(CertificateNumber),
    CreditCode(CreditCode),
    /// A pasted QR text or URL.
    Code(String),
    Name(String),
}

pub fn classify(text: &str) -> Ask {
    let t = text.trim();
    let lower = t.to_lowercase();
    if t.is_empty()
        || matches!(
            lower.as_str(),
            "帮助" | "help" | "?" | "？" | "菜单" | "你好" | "您好" | "hi" | "hello" | "h"
        )
    {
        return Ask::Help;
    }
    if let Ok(n) = t.parse::<CertificateNumber>() {
        return Ask::Number(n);
    }
    if let Ok(c) = t.parse::<CreditCode>() {
        return Ask::CreditCode(c);
    }
    // A URL, or a long run of base32 letters, is a pasted code; verification says whether it
    // is one of ours. Real payloads are 300+ characters, names never look like that.
    let base32_like = t.len() >= 24
        && t.bytes().all(|b| {
            b.is_ascii_uppercase() || b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)
        });
    if t.contains("://") || base32_like {
        return Ask::Code(t.to_owned());
    }
    let n = t.chars().count();
    if (2..=crate::register::lookup::MAX_QUERY_CHARS).contains(&n) {
        Ask::Name(t.to_owned())
    } else {
        Ask::Help
    }
}

pub fn help_text(base: &str) -> String {
    format!(
        "您可以这样查询电子资质证书：\n\
         1. 点击菜单“建筑业 → 资质验证”，扫描证书右下角（E区）的二维码；\n\
         2. 发送证书编号，如 D231000037；\n\
         3. 发送 18 位统一社会信用代码；\n\
         4. 发送企业名称中的关键字，如“建工”；\n\
         5. 粘贴证书二维码的内容（HTTPS:// 开头的网址）。\n\
         网页查询：<a href=\"{}\">资质查询</a>",
        format_args!("{base}/search")
    )
}

fn welcome_text(base: &str) -> String {
    format!(
        "感谢关注“上海建筑业”！本号提供上海市住建委颁发的电子资质证书验证与查询。\n\n{}",
        help_text(base)
    )
}

fn howto_text() -> String {
    "电子资质证书的三种验证方式：\n\
     1. 手机：点击菜单“建筑业 → 资质验证”扫描证书二维码，查看验证结果，点击“详情”展开资质详情；\n\
     2. 电脑：用 Acrobat Reader 打开 PDF 证书，检查数字签名是否有效、文件是否被篡改；\n\
     3. 全国建筑市场监管与诚信信息发布平台查询企业资质。\n\
     注意：批准件仅用于企业内部展示，投标等经营活动须使用使用件，并在其用途和使用期限内有效。"
        .to_owned()
}

fn query_text(base: &str) -> String {
    format!(
        "请直接发送证书编号（如 D231000037）、18 位统一社会信用代码或企业名称中的关键字，\
         即可查询企业的实时资质状态。\n也可以打开网页：<a href=\"{}\">资质查询</a>",
        format_args!("{base}/search")
    )
}

/// A failure told as the API and the pages tell it (one mapping, [`AppError::shown`]); a
/// server fault is only "busy" here, its details are in the log.
fn failed(err: AppError, kind: &'static str) -> Answer {
    let shown = err.shown();
    if shown.status.is_server_error() {
        Answer::new(Reply::Text("系统繁忙，请稍后再试。".into()), kind, "error")
    } else {
        Answer::new(Reply::Text(shown.message), kind, "refused")
    }
}

/// Answers one message. Never fails: a fault inside becomes a polite text (and a log line).
pub async fn answer(state: &AppState, base: &str, msg: &Message) -> Answer {
    match &msg.body {
        Inbound::Text { content, .. } => match classify(content) {
            Ask::Help => Answer::new(Reply::Text(help_text(base)), "text_help", "help"),
            Ask::Number(n) => certificate_answer(state, base, &n).await,
            Ask::CreditCode(c) => {
                enterprises_answer(state, base, c.as_str(), "text_credit_code").await
            }
            Ask::Code(t) => code_answer(state, base, &t, "text_qr").await,
            Ask::Name(name) => enterprises_answer(state, base, &name, "text_name").await,
        },
        Inbound::Event(Event::Subscribe) => {
            Answer::new(Reply::Text(welcome_text(base)), "subscribe", "help")
        }
        Inbound::Event(Event::Click { key }) => match key.as_str() {
            menu_keys::HOWTO => Answer::new(Reply::Text(howto_text()), "click", "help").about(key),
            menu_keys::QUERY => {
                Answer::new(Reply::Text(query_text(base)), "click", "help").about(key)
            }
            _ => Answer::new(Reply::Text(help_text(base)), "click", "help"),
        },
        Inbound::Event(Event::ScanWaitMsg {
            scan_type,
            scan_result,
            ..
        }) => {
            if scan_type.eq_ignore_ascii_case("qrcode") {
                code_answer(state, base, scan_result, "scan").await
            } else {
                Answer::new(
                    Reply::Text("扫到的是条形码。请对准证书右下角（E区）的二维码重新扫描。".into()),
                    "scan",
                    "refused",
                )
            }
        }
        // The follower never sees an answer to these; `success` acknowledges them.
        Inbound::Event(Event::Unsubscribe | Event::Other(_)) => {
            Answer::new(Reply::Nothing, "other", "ignored")
        }
        Inbound::Other { .. } => Answer::new(Reply::Text(help_text(base)), "other", "help"),
    }
}

/// A scanned or pasted code, verified by the same function as `POST /api/v1/verify`.
async fn code_answer(state: &AppState, base: &str, text: &str, kind: &'static str) -> Answer {
    match crate::verify::verify(state, text).await {
        Ok(v) => verdict_answer(base, text, &v, kind),
        Err(e @ AppError::Payload(_)) => Answer::new(
            Reply::Text(format!(
                "这不是有效的电子资质证书验证码：{}。\n请对准证书右下角（E区）的二维码重新扫描，\
                 或发送证书编号查询。",
                e.shown().message
            )),
            kind,
            "refused",
        ),
        Err(e) => failed(e, kind),
    }
}

/// The verdict as a one-article news reply whose link opens the `/V/` page (详情).
pub fn verdict_answer(base: &str, text: &str, v: &Verdict, kind: &'static str) -> Answer {
    let url = links::verdict_url(base, text).unwrap_or_else(|| format!("{base}/search"));
    let (title, description, subject) = match &v.claims {
        Some(c) => {
            let mut d = v.summary.message.clone();
            d.push_str(&format!(
                "\n证书编号：{}（{}，第 {} 版）\n点击查看资质详情",
                c.certificate_number,
                c.kind.name_zh(),
                c.certificate_version
            ));
            (
                format!("【{}】{}", v.summary.title, c.enterprise_name),
                d,
                Some(c.certificate_number.to_string()),
            )
        }
        None => (
            format!("【{}】证书二维码验证未通过", v.summary.title),
            format!("{}\n点击查看说明", v.summary.message),
            None,
        ),
    };
    Answer {
        reply: Reply::News(Article {
            title,
            description,
            url,
        }),
        kind,
        subject,
        outcome: v.summary.level.code(),
    }
}

async fn certificate_answer(state: &AppState, base: &str, n: &CertificateNumber) -> Answer {
    let status = match state.cache.current_status(&state.store, n).await {
        Ok(s) => s,
        Err(e) => return failed(e.into(), "text_number"),
    };
    let Some(status) = status.as_ref() else {
        return Answer::new(
            Reply::Text(format!(
                "未找到证书编号 {n}。请核对编号后重新发送，或发送企业名称查询。\n\
                 （本号只收录上海市住建委颁发的电子资质证书）"
            )),
            "text_number",
            "not_found",
        )
        .about(n);
    };
    let s = crate::wording::standing(status, zizhi_shared::time::beijing_date(Utc::now()));
    let cert = &status.current().certificate;
    let active: Vec<String> = status
        .active_qualifications()
        .map(|q| zizhi_shared::qualification_name(&q.item, &q.grade))
        .collect();
    let description = format!(
        "{}\n{}\n有效资质：{}\n点击查看资质详情",
        cert.enterprise.name,
        s.message,
        if active.is_empty() {
            "无".to_owned()
        } else {
            active.join("、")
        }
    );
    Answer::new(
        Reply::News(Article {
            title: format!("【{}】{} {}", s.title, n, cert.category.certificate_title()),
            description,
            url: links::certificate_url(base, n),
        }),
        "text_number",
        "found",
    )
    .about(n)
}

/// "至少" before a count that stopped counting ([`Page::total_capped`]).
fn at_least(found: &Page<EnterpriseSummary>) -> &'static str {
    if found.total_capped { "至少" } else { "" }
}

async fn enterprises_answer(state: &AppState, base: &str, q: &str, kind: &'static str) -> Answer {
    let found: Page<EnterpriseSummary> = match state.store.search_enterprises(q, 1, LISTED).await {
        Ok(p) => p,
        Err(e) => return failed(e.into(), kind),
    };
    let subject = (kind == "text_credit_code").then(|| q.to_owned());
    if found.total == 0 {
        let text = if kind == "text_credit_code" {
            format!("未找到统一社会信用代码为 {q} 的企业（本号只收录上海市住建委颁发的资质证书）。")
        } else {
            format!(
                "未找到名称含“{q}”的企业。\n请换一个关键字，或发送证书编号、统一社会信用代码查询。"
            )
        };
        return Answer {
            reply: Reply::Text(text),
            kind,
            subject,
            outcome: "not_found",
        };
    }
    let today = zizhi_shared::time::beijing_date(Utc::now());
    let mut text = if found.total == 1 {
        String::new()
    } else {
        format!("找到{} {} 家相关企业：\n", at_least(&found), found.total)
    };
    for (i, e) in found.items.iter().enumerate() {
        let mut block = String::new();
        if found.total > 1 {
            block.push_str(&format!("{}. ", i + 1));
        }
        block.push_str(&format!(
            "{}\n统一社会信用代码：{}\n",
            e.name, e.credit_code
        ));
        for c in &e.certificates {
            let (_, label) = crate::wording::certificate_label(c, today);
            block.push_str(&format!(
                "· <a href=\"{}\">{}</a> {}（{}）\n",
                links::certificate_url(base, &c.number),
                c.number,
                c.category_name,
                label
            ));
        }
        if text.len() + block.len() > MAX_TEXT_BYTES - 200 {
            break;
        }
        text.push_str(&block);
    }
    if found.total > found.items.len() as u64 || text.is_empty() {
        text.push_str(&format!(
            "<a href=\"{}\">查看全部{} {} 家</a>",
            links::search_url(base, q, 1),
            at_least(&found),
            found.total
        ));
    } else {
        text.push_str("点击证书编号查看资质详情。");
    }
    Answer {
        reply: Reply::Text(text),
        kind,
        subject,
        outcome: "found",
    }
}

/// The reply to a follower who sends faster than the per-follower limit.
pub fn slow_down() -> Answer {
    Answer::new(
        Reply::Text("您发送得太快了，请稍后再试。".into()),
        "other",
        "rate_limited",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_classified_by_their_shape() {
        assert_eq!(
            classify(" d231000037 "),
            Ask::Number("D231000037".parse().unwrap())
        );
        assert_eq!(
            classify("91310115MA1H7Q2B3H"),
            Ask::CreditCode("91310115MA1H7Q2B3H".parse().unwrap())
        );
        assert!(matches!(
            classify("HTTPS://ZIZHI.EXAMPLE.CN/V/AEBAGBAFAYDQ"),
            Ask::Code(_)
        ));
        assert!(matches!(
            classify("AEBAGBAFAYDQAEBAGBAFAYDQAEBAGBAF"),
            Ask::Code(_)
        ));
        assert_eq!(classify("建工"), Ask::Name("建工".into()));
        for t in ["", "  ", "帮助", "?", "Hello", "建", &"建".repeat(61)] {
            assert_eq!(classify(t), Ask::Help, "{t}");
        }
    }

    #[test]
    fn every_menu_key_shipped_in_assets_is_one_we_answer() {
        let menu: serde_json::Value =
            serde_json::from_str(include_str!("../../../assets/chat/menu.json")).unwrap();
        let mut seen = Vec::new();
        for top in menu["button"].as_array().unwrap() {
            for b in top["sub_button"].as_array().unwrap() {
                let key = b["key"].as_str().unwrap();
                assert!(
                    [
                        menu_keys::SCAN,
                        menu_keys::QUERY,
                        menu_keys::HOWTO,
                        menu_keys::HELP
                    ]
                    .contains(&key),
                    "{key}"
                );
                seen.push((b["type"].as_str().unwrap(), key));
            }
        }
        assert!(
            seen.contains(&("scancode_waitmsg", menu_keys::SCAN)),
            "{seen:?}"
        );
        assert!(seen.contains(&("click", menu_keys::QUERY)), "{seen:?}");
    }

    #[test]
    fn the_help_text_fits_one_reply_and_links_the_search_page() {
        let h = help_text("https://zizhi.example.cn");
        assert!(h.len() < MAX_TEXT_BYTES);
        assert!(
            h.contains("<a href=\"https://zizhi.example.cn/search\">"),
            "{h}"
        );
    }
}
