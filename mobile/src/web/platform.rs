//! The few browser calls the app needs, as small typed wrappers: clock, storage, the page's
//! meta tags, timers and `fetch` with a timeout.

use chrono::{DateTime, Utc};
use js_sys::{Date, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Request, RequestInit, Response};

use crate::format::LocalOffset;

pub fn window() -> web_sys::Window {
    web_sys::window().expect("the app runs in a browser window")
}

pub fn document() -> web_sys::Document {
    window().document().expect("a window has a document")
}

pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Date::now() as i64).unwrap_or_default()
}

/// The zone every time is shown in: Beijing time, whatever the device's zone. The register,
/// the H5 pages and the verdict's reasons (`zizhi_shared::verdict`) all speak Beijing time,
/// and one screen mixing two zones would mislead an inspector on a phone set to another zone.
pub fn local_offset() -> LocalOffset {
    LocalOffset::BEIJING
}

/// `location.origin`, e.g. `http://127.0.0.1:8080`.
pub fn origin() -> String {
    window().location().origin().unwrap_or_default()
}

pub fn online() -> bool {
    window().navigator().on_line()
}

/// The `content` of `<meta name="…">`, if the page has one.
pub fn meta(name: &str) -> Option<String> {
    document()
        .query_selector(&format!("meta[name=\"{name}\"]"))
        .ok()
        .flatten()
        .and_then(|m| m.get_attribute("content"))
}

/// localStorage. A browser that refuses storage (private mode quotas) makes every call a
/// no-op: the app still scans and verifies online, it just forgets.
pub mod store {
    use super::window;

    fn storage() -> Option<web_sys::Storage> {
        window().local_storage().ok().flatten()
    }

    pub fn get(key: &str) -> Option<String> {
        storage()?.get_item(key).ok().flatten()
    }

    /// `false` when the value could not be stored (quota).
    pub fn set(key: &str, value: &str) -> bool {
        storage().is_some_and(|s| s.set_item(key, value).is_ok())
    }

    pub fn remove(key: &str) {
        if let Some(s) = storage() {
            let _ = s.remove_item(key);
        }
    }

    pub fn get_json<T: serde::de::DeserializeOwned>(key: &str) -> Option<T> {
        serde_json::from_str(&get(key)?).ok()
    }

    pub fn set_json<T: serde::Serialize>(key: &str, value: &T) -> bool {
        serde_json::to_string(value).is_ok_and(|j| set(key, &j))
    }
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// No connection, DNS, refused, CORS, or the timeout fired.
    Network(String),
    /// An HTTP status other than 2xx, with the body.
    Status(u16, String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Network(why) => f.write_str(why),
            FetchError::Status(code, _) => write!(f, "HTTP {code}"),
        }
    }
}

fn js_text(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    v.as_string().unwrap_or_else(|| format!("{v:?}"))
}

/// `fetch` with an abort after `timeout_ms`; `body` makes it a POST of `text/plain`.
pub async fn fetch_text(
    url: &str,
    body: Option<&str>,
    timeout_ms: i32,
) -> Result<String, FetchError> {
    let controller = AbortController::new().map_err(|e| FetchError::Network(js_text(&e)))?;
    let init = RequestInit::new();
    init.set_signal(Some(&controller.signal()));
    if let Some(body) = body {
        init.set_method("POST");
        init.set_body(&JsValue::from_str(body));
    }
    let request =
        Request::new_with_str_and_init(url, &init).map_err(|e| FetchError::Network(js_text(&e)))?;
    if body.is_some() {
        let _ = request
            .headers()
            .set("content-type", "text/plain; charset=utf-8");
    }
    let abort = {
        let controller = controller.clone();
        wasm_bindgen::closure::Closure::once_into_js(move || controller.abort())
    };
    let timer = window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(abort.unchecked_ref(), timeout_ms)
        .ok();
    let result = async {
        let resp: Response = JsFuture::from(window().fetch_with_request(&request))
            .await
            .map_err(|_| {
                // The browser's own text ("Failed to fetch") tells an inspector nothing more.
                if controller.signal().aborted() {
                    FetchError::Network("连接超时".into())
                } else {
                    FetchError::Network("网络不可用或服务器未响应".into())
                }
            })?
            .unchecked_into();
        let text = JsFuture::from(resp.text().map_err(|e| FetchError::Network(js_text(&e)))?)
            .await
            .map_err(|e| FetchError::Network(js_text(&e)))?
            .as_string()
            .unwrap_or_default();
        if resp
            .headers()
            .get("x-zizhi-offline")
            .ok()
            .flatten()
            .is_some()
        {
            // The service worker's cached copy: the server itself was not reached.
            Err(FetchError::Network("服务器无法连接".into()))
        } else if resp.ok() {
            Ok(text)
        } else {
            Err(FetchError::Status(resp.status(), text))
        }
    }
    .await;
    if let Some(t) = timer {
        window().clear_timeout_with_handle(t);
    }
    result
}

/// Marks the page ready for tests and scripts (`<body data-ready="1">`).
pub fn mark_ready() {
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-ready", "1");
    }
}

/// Asks before something destructive (清空记录's second step is in the page; this is for
/// 重置本机数据).
pub fn confirm(message: &str) -> bool {
    window().confirm_with_message(message).unwrap_or(false)
}
