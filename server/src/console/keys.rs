//! 签名密钥: the keys the register signs with today and the published trust list. Rotation
//! is done with the offline root on the command line (`zizhi keys new`, `zizhi trust sign`,
//! `zizhi trust install`); this page shows where it stands and the steps.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use zizhi_shared::trust::KeyRole;

use super::ConsoleStaff;
use crate::accounts::Audience;
use crate::accounts::frame::{PageError, notice, page, respond};
use crate::app::AppState;

pub async fn show(
    State(state): State<AppState>,
    staff: ConsoleStaff,
) -> Result<Response, PageError> {
    let loaded = state.keys.current();
    let list = loaded.trust_list();
    let today = crate::portal::today();
    let body = html! {
        h1 { "签名密钥" }
        div.panel {
            h2 { "今日使用的密钥" }
            dl.kv {
                @for role in [KeyRole::CopySigning, KeyRole::SnapshotSigning] {
                    dt { (role.label()) }
                    dd data-role=(role.to_string()) {
                        @match loaded.signer(role, today) {
                            Ok(k) => { (k.kid()) }
                            Err(e) => { span.state.bad { (e.to_string()) } }
                        }
                    }
                }
                dt { "根密钥" } dd { (loaded.root().kid) " （离线保管）" }
            }
        }
        div.panel {
            h2 { "已发布的信任列表" }
            @if list.needs_renewal(chrono::Utc::now()) {
                (notice("warn", "信任列表即将过期，请用离线根密钥签发新的列表。"))
            }
            p.muted { "签发于 " (zizhi_shared::time::beijing_minute(list.issued_at)) "，有效至 " (zizhi_shared::time::beijing_minute(list.expires_at)) "。扫码应用和验证服务凭此判断证书件签名。" }
            div.table-wrap {
                table data-testid="trust-list" {
                    thead { tr { th { "密钥" } th { "用途" } th { "生效" } th { "停用" } } }
                    tbody {
                        @for k in &list.keys {
                            tr {
                                td { (k.kid) }
                                td { (k.role.label()) }
                                td { (k.valid_from) }
                                td { @if let Some(t) = k.valid_to { (t) } @else { "—" } }
                            }
                        }
                    }
                }
            }
        }
        div.panel {
            h2 { "轮换签发密钥" }
            ol {
                li { "在服务器上生成新密钥申请：" code { "zizhi keys new --kid SH02 --role copy_signing --from 2027-01-01 --out SH02.request.json" } }
                li { "在离线计算机上以根密钥签发新信任列表：" code { "zizhi trust sign --root RT01.root.key --current trust-list.cose --add SH02.request.json --retire SH01=2027-01-01 --valid-until 2027-12-31 --out next.cose" } }
                li { "在每台服务器上安装：" code { "zizhi trust install next.cose" } "（运行中的实例 30 秒内生效；旧证书件仍可核验）" }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "签名密钥",
            Some(&staff.who),
            Audience::Issuer,
            "/console/keys",
            false,
            body,
        ),
    ))
}
