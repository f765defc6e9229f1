//! 操作日志: the register's append-only event log, newest first, filtered by who, action,
//! subject and date range (Beijing dates), paginated.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, TimeZone};
use maud::html;
use serde::Deserialize;

use super::ConsoleStaff;
use super::changes::beijing;
use crate::accounts::Audience;
use crate::accounts::frame::{PageError, page, respond};
use crate::app::AppState;
use crate::store::{EventFilter, instant};

const PER_PAGE: u32 = 50;

#[derive(Deserialize, Default)]
pub struct EventQuery {
    actor: Option<String>,
    action: Option<String>,
    subject: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    page: Option<u32>,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.contains('\0'))
        .map(|s| s.chars().take(60).collect())
}

/// The start of a Beijing day, as the log stores instants.
fn day_start(d: NaiveDate) -> String {
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let t = beijing
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("no DST in China")
        .with_timezone(&chrono::Utc);
    instant(t)
}

pub async fn list(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    Query(q): Query<EventQuery>,
) -> Result<Response, PageError> {
    let filter = EventFilter {
        actor: nonempty(&q.actor),
        action: nonempty(&q.action),
        subject: nonempty(&q.subject),
        from: q.from.map(day_start),
        until: q.to.and_then(|d| d.succ_opt()).map(day_start),
    };
    let current = q.page.unwrap_or(1).max(1);
    let (events, total) = state.store.events_page(&filter, current, PER_PAGE).await?;
    let pages = total.div_ceil(u64::from(PER_PAGE)).max(1);
    let keep = |p: u32| {
        let mut qs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("actor", &filter.actor),
            ("action", &filter.action),
            ("subject", &filter.subject),
        ] {
            if let Some(v) = v {
                qs.append_pair(k, v);
            }
        }
        if let Some(d) = q.from {
            qs.append_pair("from", &d.to_string());
        }
        if let Some(d) = q.to {
            qs.append_pair("to", &d.to_string());
        }
        qs.append_pair("page", &p.to_string());
        format!("?{}", qs.finish())
    };
    let body = html! {
        h1 { "操作日志" }
        p.crumb { "登记簿的每一项变更、签发、登录及失败尝试，按时间倒序。" }
        div.panel {
            form method="get" {
                div.row {
                    div.field { label for="actor" { "操作人" } input #actor type="text" name="actor" value=[filter.actor.as_deref()] placeholder="issuer:demo.clerk"; }
                    div.field { label for="action" { "操作" } input #action type="text" name="action" value=[filter.action.as_deref()] placeholder="qualification."; }
                    div.field { label for="subject" { "对象" } input #subject type="text" name="subject" value=[filter.subject.as_deref()] placeholder="证书编号或信用代码"; }
                    div.field { label for="from" { "自" } input #from type="date" name="from" value=[q.from]; }
                    div.field { label for="to" { "至" } input #to type="date" name="to" value=[q.to]; }
                }
                button.btn type="submit" { "筛选" }
            }
        }
        div.panel {
            div.table-wrap {
                table data-testid="events" {
                    thead { tr { th { "编号" } th { "时间" } th { "操作人" } th { "操作" } th { "对象" } th { "详情" } } }
                    tbody {
                        @for e in &events {
                            tr {
                                td { (e.id) }
                                td { (beijing(&e.at)) }
                                td { (e.actor) }
                                td { (e.action) }
                                td { (e.subject) }
                                td { code { (e.detail.to_string().chars().take(200).collect::<String>()) } }
                            }
                        }
                    }
                }
            }
            div.pager {
                span { "共 " (total) " 条，第 " (current) " / " (pages) " 页" }
                @if current > 1 { a href=(keep(current - 1)) { "上一页" } }
                @if u64::from(current) < pages { a href=(keep(current + 1)) { "下一页" } }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "操作日志",
            Some(&staff.who),
            Audience::Issuer,
            "/console/events",
            false,
            body,
        ),
    ))
}
