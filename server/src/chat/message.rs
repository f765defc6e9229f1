//! The platform's XML: the messages and events it delivers, and the passive replies we send.
//!
//! Parsing goes through `quick-xml`'s serde support, which never resolves external entities
//! or fetches DTDs, so a hostile body cannot read files or make requests (XXE).

use quick_xml::Writer;
use quick_xml::events::{BytesCData, BytesEnd, BytesStart, BytesText, Event as XmlEvent};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Longest text message accepted; the platform caps what a follower can send well below this.
const MAX_CONTENT_CHARS: usize = 2048;

/// Why a body is not a message we can read. Each carries what exactly is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("消息体不是有效的 XML：{0}")]
    Malformed(String),
    #[error("消息缺少必填字段 {0}")]
    Missing(&'static str),
    #[error("消息字段 {field} 无效：{reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
}

impl ParseError {
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::Malformed(_) => "malformed_xml",
            ParseError::Missing(_) => "missing_field",
            ParseError::Invalid { .. } => "invalid_field",
        }
    }
}

/// The fields every delivery carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Our official account's id (原始 ID, `gh_…`).
    pub to_user: String,
    /// The follower's OpenID.
    pub from_user: String,
    pub create_time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Text {
        msg_id: Option<u64>,
        content: String,
    },
    Event(Event),
    /// Images, voice, locations, links…: answered with the help text.
    Other {
        msg_id: Option<u64>,
        msg_type: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Subscribe,
    Unsubscribe,
    /// A menu button of type `click`.
    Click {
        key: String,
    },
    /// `scancode_waitmsg`: the platform scanned for the follower and waits for our answer.
    ScanWaitMsg {
        key: String,
        scan_type: String,
        scan_result: String,
    },
    /// Events whose answer the follower never sees (`VIEW`, `scancode_push`, `LOCATION`…).
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub body: Inbound,
}

impl Message {
    /// Retries of one delivery share this key, and nothing else does: MsgId for messages;
    /// for events (which have no MsgId) the sender, CreateTime and a digest of what the event
    /// says, so two scans by one follower within the same second are two deliveries. The
    /// sender enters as a digest, never as the raw OpenID.
    pub fn dedupe_key(&self, follower: &str) -> String {
        let content = match &self.body {
            Inbound::Text {
                msg_id: Some(id), ..
            }
            | Inbound::Other {
                msg_id: Some(id), ..
            } => return format!("msg:{id}"),
            Inbound::Text {
                msg_id: None,
                content,
            } => format!("text\n{content}"),
            Inbound::Other {
                msg_id: None,
                msg_type,
            } => format!("message\n{msg_type}"),
            Inbound::Event(Event::Subscribe) => "subscribe".to_owned(),
            Inbound::Event(Event::Unsubscribe) => "unsubscribe".to_owned(),
            Inbound::Event(Event::Click { key }) => format!("click\n{key}"),
            Inbound::Event(Event::ScanWaitMsg {
                key,
                scan_type,
                scan_result,
            }) => format!("scan\n{key}\n{scan_type}\n{scan_result}"),
            Inbound::Event(Event::Other(name)) => format!("event\n{name}"),
        };
        let digest = Sha256::digest(content.as_bytes());
        format!(
            "evt:{follower}:{}:{}",
            self.header.create_time,
            hex::encode(&digest[..8])
        )
    }
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(rename = "ToUserName")]
    to_user_name: Option<String>,
    #[serde(rename = "FromUserName")]
    from_user_name: Option<String>,
    #[serde(rename = "CreateTime")]
    create_time: Option<String>,
    #[serde(rename = "MsgType")]
    msg_type: Option<String>,
    #[serde(rename = "Content")]
    content: Option<String>,
    #[serde(rename = "MsgId")]
    msg_id: Option<String>,
    #[serde(rename = "Event")]
    event: Option<String>,
    #[serde(rename = "EventKey")]
    event_key: Option<String>,
    #[serde(rename = "ScanCodeInfo")]
    scan_code_info: Option<RawScanCodeInfo>,
}

#[derive(Deserialize)]
struct RawScanCodeInfo {
    #[serde(rename = "ScanType")]
    scan_type: Option<String>,
    #[serde(rename = "ScanResult")]
    scan_result: Option<String>,
}

/// The safe-mode envelope: `<xml><ToUserName/><Encrypt/></xml>`.
#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(rename = "Encrypt")]
    encrypt: Option<String>,
}

fn required(v: Option<String>, field: &'static str) -> Result<String, ParseError> {
    match v {
        Some(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        _ => Err(ParseError::Missing(field)),
    }
}

fn malformed(e: quick_xml::DeError) -> ParseError {
    ParseError::Malformed(e.to_string().chars().take(200).collect())
}

/// The root must be `<xml>`: anything else is not the platform speaking.
fn check_root(xml: &str) -> Result<(), ParseError> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(XmlEvent::Start(e)) => {
                return if e.name().as_ref() == b"xml" {
                    Ok(())
                } else {
                    Err(ParseError::Malformed("根元素应为 <xml>".into()))
                };
            }
            Ok(XmlEvent::Decl(_) | XmlEvent::Comment(_) | XmlEvent::Text(_)) => continue,
            Ok(XmlEvent::DocType(_)) => {
                return Err(ParseError::Malformed("不接受 DOCTYPE 声明".into()));
            }
            Ok(XmlEvent::Eof) => return Err(ParseError::Malformed("消息体为空".into())),
            Ok(_) => return Err(ParseError::Malformed("根元素应为 <xml>".into())),
            Err(e) => return Err(ParseError::Malformed(e.to_string())),
        }
    }
}

/// The `Encrypt` field of a safe-mode body.
pub fn parse_envelope(xml: &str) -> Result<String, ParseError> {
    check_root(xml)?;
    let raw: RawEnvelope = quick_xml::de::from_str(xml).map_err(malformed)?;
    required(raw.encrypt, "Encrypt")
}

pub fn parse(xml: &str) -> Result<Message, ParseError> {
    check_root(xml)?;
    let raw: RawMessage = quick_xml::de::from_str(xml).map_err(malformed)?;
    let header = Header {
        to_user: required(raw.to_user_name, "ToUserName")?,
        from_user: required(raw.from_user_name, "FromUserName")?,
        create_time: required(raw.create_time, "CreateTime")?
            .parse()
            .map_err(|_| ParseError::Invalid {
                field: "CreateTime",
                reason: "应为整数秒",
            })?,
    };
    let msg_id = match raw.msg_id {
        Some(s) if !s.trim().is_empty() => {
            Some(s.trim().parse().map_err(|_| ParseError::Invalid {
                field: "MsgId",
                reason: "应为 64 位整数",
            })?)
        }
        _ => None,
    };
    let msg_type = required(raw.msg_type, "MsgType")?;
    let body = match msg_type.as_str() {
        "text" => {
            let content = raw.content.ok_or(ParseError::Missing("Content"))?;
            if content.chars().count() > MAX_CONTENT_CHARS {
                return Err(ParseError::Invalid {
                    field: "Content",
                    reason: "超过 2048 个字符",
                });
            }
            Inbound::Text { msg_id, content }
        }
        "event" => {
            let event = required(raw.event, "Event")?;
            let key = raw.event_key.unwrap_or_default().trim().to_owned();
            Inbound::Event(match event.to_ascii_lowercase().as_str() {
                "subscribe" => Event::Subscribe,
                "unsubscribe" => Event::Unsubscribe,
                "click" => Event::Click { key },
                "scancode_waitmsg" => {
                    let info = raw
                        .scan_code_info
                        .ok_or(ParseError::Missing("ScanCodeInfo"))?;
                    Event::ScanWaitMsg {
                        key,
                        scan_type: required(info.scan_type, "ScanCodeInfo/ScanType")?,
                        // The scanned text is kept as it is: verification trims what it must.
                        scan_result: info
                            .scan_result
                            .ok_or(ParseError::Missing("ScanCodeInfo/ScanResult"))?,
                    }
                }
                _ => Event::Other(event),
            })
        }
        _ => Inbound::Other { msg_id, msg_type },
    };
    Ok(Message { header, body })
}

/// One article of a news reply (图文消息).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    pub title: String,
    pub description: String,
    pub url: String,
}

/// A passive reply (被动回复).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Text(String),
    News(Article),
    /// The literal `success`: received, nothing to say (and the platform will not retry).
    Nothing,
}

fn cdata<W: std::io::Write>(w: &mut Writer<W>, name: &str, text: &str) -> std::io::Result<()> {
    w.write_event(XmlEvent::Start(BytesStart::new(name)))?;
    // `escaped` splits the text where it contains "]]>", so no text can close the section.
    for part in BytesCData::escaped(text) {
        w.write_event(XmlEvent::CData(part))?;
    }
    w.write_event(XmlEvent::End(BytesEnd::new(name)))
}

fn number<W: std::io::Write>(w: &mut Writer<W>, name: &str, n: i64) -> std::io::Result<()> {
    w.write_event(XmlEvent::Start(BytesStart::new(name)))?;
    w.write_event(XmlEvent::Text(BytesText::new(&n.to_string())))?;
    w.write_event(XmlEvent::End(BytesEnd::new(name)))
}

impl Reply {
    /// The reply's XML to `to` (the follower) from `from` (our account), or `None` for
    /// [`Reply::Nothing`].
    pub fn to_xml(&self, to: &str, from: &str, now: i64) -> Option<String> {
        let mut w = Writer::new(Vec::with_capacity(512));
        let res: std::io::Result<()> = (|| {
            w.write_event(XmlEvent::Start(BytesStart::new("xml")))?;
            cdata(&mut w, "ToUserName", to)?;
            cdata(&mut w, "FromUserName", from)?;
            number(&mut w, "CreateTime", now)?;
            match self {
                Reply::Text(text) => {
                    cdata(&mut w, "MsgType", "text")?;
                    cdata(&mut w, "Content", text)?;
                }
                Reply::News(a) => {
                    cdata(&mut w, "MsgType", "news")?;
                    number(&mut w, "ArticleCount", 1)?;
                    w.write_event(XmlEvent::Start(BytesStart::new("Articles")))?;
                    w.write_event(XmlEvent::Start(BytesStart::new("item")))?;
                    cdata(&mut w, "Title", &a.title)?;
                    cdata(&mut w, "Description", &a.description)?;
                    cdata(&mut w, "PicUrl", "")?;
                    cdata(&mut w, "Url", &a.url)?;
                    w.write_event(XmlEvent::End(BytesEnd::new("item")))?;
                    w.write_event(XmlEvent::End(BytesEnd::new("Articles")))?;
                }
                Reply::Nothing => return Ok(()),
            }
            w.write_event(XmlEvent::End(BytesEnd::new("xml")))
        })();
        res.expect("writing to a Vec cannot fail");
        match self {
            Reply::Nothing => None,
            _ => Some(String::from_utf8(w.into_inner()).expect("written from &str")),
        }
    }
}

/// The safe-mode reply envelope around an encrypted reply.
pub fn envelope_xml(encrypt: &str, signature: &str, timestamp: &str, nonce: &str) -> String {
    let mut w = Writer::new(Vec::with_capacity(encrypt.len() + 256));
    let res: std::io::Result<()> = (|| {
        w.write_event(XmlEvent::Start(BytesStart::new("xml")))?;
        cdata(&mut w, "Encrypt", encrypt)?;
        cdata(&mut w, "MsgSignature", signature)?;
        w.write_event(XmlEvent::Start(BytesStart::new("TimeStamp")))?;
        w.write_event(XmlEvent::Text(BytesText::new(timestamp)))?;
        w.write_event(XmlEvent::End(BytesEnd::new("TimeStamp")))?;
        cdata(&mut w, "Nonce", nonce)?;
        w.write_event(XmlEvent::End(BytesEnd::new("xml")))
    })();
    res.expect("writing to a Vec cannot fail");
    String::from_utf8(w.into_inner()).expect("written from &str")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(create_time: i64, result: &str) -> Message {
        Message {
            header: Header {
                to_user: "gh_0123456789ab".into(),
                from_user: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M".into(),
                create_time,
            },
            body: Inbound::Event(Event::ScanWaitMsg {
                key: "scan".into(),
                scan_type: "qrcode".into(),
                scan_result: result.into(),
            }),
        }
    }

    #[test]
    fn two_scans_in_one_second_are_two_deliveries_and_a_retry_is_the_same_one() {
        let forged = scan(1_700_000_000, "HTTPS://X.CN/V/FORGED");
        let genuine = scan(1_700_000_000, "HTTPS://X.CN/V/GENUINE");
        assert_ne!(forged.dedupe_key("f"), genuine.dedupe_key("f"));
        assert_eq!(genuine.dedupe_key("f"), genuine.clone().dedupe_key("f"));
        assert_ne!(
            genuine.dedupe_key("f"),
            genuine.dedupe_key("g"),
            "per follower"
        );
        assert_ne!(
            genuine.dedupe_key("f"),
            scan(1_700_000_001, "HTTPS://X.CN/V/GENUINE").dedupe_key("f")
        );
    }

    #[test]
    fn a_text_message_parses_with_its_msg_id() {
        let m = parse(
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oU1]]>\
             </FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]>\
             </MsgType><Content><![CDATA[D231000037]]></Content><MsgId>1234567890123456\
             </MsgId></xml>",
        )
        .unwrap();
        assert_eq!(m.header.from_user, "oU1");
        assert_eq!(m.header.create_time, 1348831860);
        assert_eq!(
            m.body,
            Inbound::Text {
                msg_id: Some(1234567890123456),
                content: "D231000037".into()
            }
        );
        assert_eq!(m.dedupe_key("f"), "msg:1234567890123456");
    }

    #[test]
    fn a_scancode_event_parses_with_its_scan_result() {
        let m = parse(
            "<xml><ToUserName>gh_1</ToUserName><FromUserName>oU1</FromUserName>\
             <CreateTime>1408090606</CreateTime><MsgType>event</MsgType>\
             <Event><![CDATA[scancode_waitmsg]]></Event><EventKey>ZIZHI_SCAN</EventKey>\
             <ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>\
             <ScanResult><![CDATA[HTTPS://H/V/AB]]></ScanResult></ScanCodeInfo></xml>",
        )
        .unwrap();
        assert_eq!(
            m.body,
            Inbound::Event(Event::ScanWaitMsg {
                key: "ZIZHI_SCAN".into(),
                scan_type: "qrcode".into(),
                scan_result: "HTTPS://H/V/AB".into()
            })
        );
        assert!(
            m.dedupe_key("f").starts_with("evt:f:1408090606:"),
            "{}",
            m.dedupe_key("f")
        );
    }

    #[test]
    fn bad_bodies_are_refused_with_what_is_wrong() {
        let cases: &[(&str, &str)] = &[
            ("", "malformed_xml"),
            ("not xml", "malformed_xml"),
            ("<xml><ToUserName>a</ToUserName>", "malformed_xml"),
            ("<root><ToUserName>a</ToUserName></root>", "malformed_xml"),
            (
                "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml>&e;</xml>",
                "malformed_xml",
            ),
            ("<xml><ToUserName>a</ToUserName></xml>", "missing_field"),
            (
                "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>\
                 <CreateTime>yesterday</CreateTime><MsgType>text</MsgType></xml>",
                "invalid_field",
            ),
            (
                "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>\
                 <CreateTime>1</CreateTime><MsgType>event</MsgType>\
                 <Event>scancode_waitmsg</Event></xml>",
                "missing_field",
            ),
        ];
        for (xml, code) in cases {
            let e = parse(xml).unwrap_err();
            assert_eq!(e.code(), *code, "{xml}: {e}");
        }
    }

    #[test]
    fn replies_round_trip_text_that_would_close_a_cdata_section() {
        let xml = Reply::Text("a]]>b<c>&".into())
            .to_xml("oU1", "gh_1", 7)
            .unwrap();
        let back: std::collections::BTreeMap<String, String> =
            quick_xml::de::from_str(&xml).unwrap();
        assert_eq!(back["Content"], "a]]>b<c>&");
        assert_eq!(back["MsgType"], "text");
        assert_eq!(Reply::Nothing.to_xml("a", "b", 1), None);
    }
}
