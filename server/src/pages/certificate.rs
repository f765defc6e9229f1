//! `/c/<number>`: a certificate's 资质详情 as the register holds it now, with its version
//! history.

use chrono::NaiveDate;
use maud::{Markup, html};
use zizhi_shared::time::beijing_minute;

use super::layout::{self, form_preview, row, status_tone, tag};
use crate::register::model::CertificateStatus;

pub fn render(status: &CertificateStatus, today: NaiveDate, issuer_name: &str) -> Markup {
    let s = crate::wording::standing(status, today);
    let cert = &status.current().certificate;
    let e = &cert.enterprise;
    layout::shell(
        &format!("{} · {}", status.number, e.name),
        html! {
            (layout::msg(s.level.into(), s.title, &s.message))
            div class="weui-cells__title" { "资质详情（发证机关实时登记信息）" }
            (form_preview("证书编号", status.number.as_str(), html! {
                (row("企业名称", &e.name))
                (row("注册地址", &e.address))
                (row("统一社会信用代码", e.credit_code.as_str()))
                (row("法定代表人", &e.legal_representative))
                (row("注册资本", format!("{}万元", e.registered_capital_wan)))
                (row("经济性质", &e.economic_nature))
                (row("证书类别", cert.category.certificate_title()))
                (row("有效期至", cert.valid_until.to_string()))
                (row("资质类别及等级", html! {
                    ul class="quals" {
                        @for q in &status.qualifications {
                            li {
                                (zizhi_shared::qualification_name(&q.item, &q.grade))
                                (tag(status_tone(q.status), q.status.name_zh()))
                            }
                        }
                    }
                }))
                (row("发证机关", &cert.issuer))
                (row("批准日期", cert.approved_on.to_string()))
                (row("现行版本", format!("第 {} 版", status.current_version)))
            }))
            details id="details" {
                summary { "版本记录" }
                ol class="changes" {
                    @for v in status.versions.iter().rev() {
                        li {
                            "第 " (v.version) " 版 · " (layout::change_text(v.change_kind, &v.change_note))
                            " · " (beijing_minute(v.created_at))
                        }
                    }
                }
                p class="note" { "证书每次变更都会颁发新版本，旧版本不能再下载；旧版打印件扫码时会提示已更新。" }
            }
            (layout::usage_statement())
            (layout::footer(issuer_name))
        },
    )
}
