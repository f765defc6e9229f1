//! 扫码: the rear camera with a framing guide, decoded in wasm every ~200 ms until a code of
//! ours appears; the torch where the camera has one; "选择照片" as the fallback.
//!
//! What a live camera adds to a still photo: consecutive frames of a steady phone are
//! aligned and averaged ([`zizhi_scan::live::LiveScanner`]); a code located but too small
//! to read makes the app zoom (the track's `zoom` constraint where the camera has one, else
//! a crop of the frame read at the stream's full resolution, a larger stream asked for) and
//! say "请靠近一些"; continuous autofocus is asked for where offered.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use dioxus::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, HtmlInputElement, HtmlVideoElement, MediaStream};

use super::camera;
use super::platform::{self, document};
use super::state::AppState;

const FRAME_INTERVAL_MS: i32 = 200;
const AIM: &str = "将证书上的二维码放入框内，保持手机稳定";
const FOREIGN: &str = "不是资质证书二维码：请对准证书右下方的验证二维码";
const CLOSER: &str = "请靠近一些：二维码太小，正在放大识别";
/// Frames without a located code after which a crop of the frame is given up (the code left
/// it) and the whole frame is decoded again.
const CROP_PATIENCE: u32 = 10;

/// The camera stream shared by the scan task, the torch button and the drop hook.
#[derive(Clone, Default)]
struct Camera {
    stream: Rc<RefCell<Option<MediaStream>>>,
    /// False once the screen has been left: a stream that arrives later is stopped at once.
    alive: Rc<Cell<bool>>,
}

impl Camera {
    fn stop(&self) {
        if let Some(s) = self.stream.borrow_mut().take() {
            camera::close(&s);
        }
    }
}

/// Opens the camera outside the component's task: if the screen is left while the browser
/// is still asking for permission, the stream that arrives afterwards is stopped, never
/// left running.
async fn open_guarded(cam: &Camera) -> Result<MediaStream, String> {
    let (tx, rx) = futures_channel::oneshot::channel();
    let alive = cam.alive.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let result = camera::open().await;
        if let Ok(s) = &result
            && !alive.get()
        {
            camera::close(s);
            return;
        }
        let _ = tx.send(result);
    });
    rx.await.unwrap_or_else(|_| Err("相机已关闭".into()))
}

/// Another handle to the same stream. Not `stream.clone()`: web-sys's inherent
/// `MediaStream::clone` is the JS `MediaStream.clone()`, a new stream with new tracks, and
/// stopping those would leave the camera on.
fn share(stream: &MediaStream) -> MediaStream {
    Clone::clone(stream)
}

fn scratch_canvas() -> Option<HtmlCanvasElement> {
    document().create_element("canvas").ok()?.dyn_into().ok()
}

#[component]
pub fn ScanScreen() -> Element {
    let state = use_context::<AppState>();
    let mut status = use_signal(|| "正在打开相机…".to_owned());
    let mut torch = use_signal(|| None::<bool>);
    let mut busy = use_signal(|| false);
    // The camera could not start: the status is an error, and the photo button is the way on.
    let mut failed = use_signal(|| false);
    // How long the last frame took to decode, in ms: shown to tests (and the curious) as
    // `data-decode-ms`, the in-browser figure for the wasm pipeline.
    let mut decode_ms = use_signal(|| None::<u32>);
    // How a code too small to read is being enlarged: the camera's zoom factor, or "crop".
    // Shown as `data-zoom`, for tests: the prompt alone does not say the app acted on it.
    let mut zoomed = use_signal(|| None::<String>);
    let cam = use_hook(|| {
        let c = Camera::default();
        c.alive.set(true);
        c
    });
    use_drop({
        let cam = cam.clone();
        move || {
            cam.alive.set(false);
            cam.stop();
        }
    });

    use_hook({
        let cam = cam.clone();
        move || {
            spawn(async move {
                let mut stream = match open_guarded(&cam).await {
                    Ok(s) => s,
                    Err(why) => {
                        failed.set(true);
                        status.set(why);
                        return;
                    }
                };
                *cam.stream.borrow_mut() = Some(share(&stream));
                let (Some(video), Some(canvas)) = (
                    camera::element::<HtmlVideoElement>("camera"),
                    scratch_canvas(),
                ) else {
                    return;
                };
                camera::attach(&video, &stream);
                status.set(AIM.to_owned());
                let mut checked_torch = false;
                let mut foreign_frames = 0u32;
                let mut closer_frames = 0u32;
                // Consecutive frames of one code, aligned and averaged (zizhi_scan::live).
                let mut live = zizhi_scan::live::LiveScanner::new();
                // Too small a code: the camera's zoom, else a crop of the frame (fractions of
                // the video's width and height) read at the stream's full resolution.
                let mut crop: Option<(f64, f64, f64, f64)> = None;
                let mut crop_misses = 0u32;
                let mut zoom_steps = 0u32;
                loop {
                    platform::sleep(FRAME_INTERVAL_MS).await;
                    if document().hidden() {
                        // Locked phone or another app in front: the camera goes off, and comes
                        // back when the inspector returns to this screen.
                        cam.stop();
                        torch.set(None);
                        while document().hidden() {
                            platform::sleep(500).await;
                        }
                        stream = match open_guarded(&cam).await {
                            Ok(s) => s,
                            Err(why) => {
                                failed.set(true);
                                status.set(why);
                                return;
                            }
                        };
                        *cam.stream.borrow_mut() = Some(share(&stream));
                        camera::attach(&video, &stream);
                        checked_torch = false;
                        live.reset();
                        crop = None;
                        zoom_steps = 0;
                        zoomed.set(None);
                        continue;
                    }
                    if *busy.peek() {
                        continue;
                    }
                    let grabbed = match crop {
                        Some((fx, fy, fw, fh)) => {
                            let (vw, vh) = (
                                f64::from(video.video_width()),
                                f64::from(video.video_height()),
                            );
                            camera::grab_crop(
                                &video,
                                &canvas,
                                (fx * vw, fy * vh, fw * vw, fh * vh),
                                2.0,
                            )
                        }
                        None => camera::grab(&video, &canvas),
                    };
                    let Some((w, h, rgba)) = grabbed else {
                        continue;
                    };
                    if !checked_torch {
                        // Capabilities are reliable once frames flow.
                        checked_torch = true;
                        if camera::has_torch(&stream) {
                            torch.set(Some(false));
                        }
                        camera::continuous_focus(&stream).await;
                    }
                    let started = js_sys::Date::now();
                    let scan = live.scan_rgba(w, h, &rgba);
                    decode_ms.set(Some((js_sys::Date::now() - started).max(0.0) as u32));
                    let found = scan.result;
                    if let Some(text) = found.ours {
                        cam.stop();
                        state.check(text);
                        return;
                    }
                    match scan.located {
                        Some(at) if at.too_small() => {
                            closer_frames = 10;
                            status.set(CLOSER.to_owned());
                            if zoom_steps < 2 {
                                zoom_steps += 1;
                                if let Some((now, max)) = camera::zoom(&stream)
                                    && max > now * 1.1
                                {
                                    let to = (now * 2.0).min(max);
                                    if camera::set_zoom(&stream, to).await {
                                        zoomed.set(Some(to.to_string()));
                                    }
                                    live.reset();
                                } else if crop.is_none() {
                                    // The code's square with room for the hand to move,
                                    // as fractions of the frame (the stream may change size
                                    // when it is asked for more pixels).
                                    let side = (at.x1 - at.x0).max(at.y1 - at.y0) * 1.6;
                                    let (cx, cy) = ((at.x0 + at.x1) / 2.0, (at.y0 + at.y1) / 2.0);
                                    let (w, h) = (w as f32, h as f32);
                                    crop = Some((
                                        f64::from(((cx - side / 2.0) / w).max(0.0)),
                                        f64::from(((cy - side / 2.0) / h).max(0.0)),
                                        f64::from((side / w).min(1.0)),
                                        f64::from((side / h).min(1.0)),
                                    ));
                                    crop_misses = 0;
                                    zoomed.set(Some("crop".to_owned()));
                                    live.reset();
                                    camera::ask_high_resolution(&stream).await;
                                }
                            }
                        }
                        Some(_) => crop_misses = 0,
                        None if crop.is_some() => {
                            crop_misses += 1;
                            if crop_misses >= CROP_PATIENCE {
                                crop = None;
                                zoom_steps = 0;
                                zoomed.set(None);
                                live.reset();
                            }
                        }
                        None => {}
                    }
                    if closer_frames > 0 {
                        closer_frames -= 1;
                        if closer_frames == 0 {
                            status.set(AIM.to_owned());
                        }
                    }
                    if !found.others.is_empty() {
                        foreign_frames = 10;
                        status.set(FOREIGN.to_owned());
                    } else if foreign_frames > 0 {
                        foreign_frames -= 1;
                        if foreign_frames == 0 {
                            status.set(AIM.to_owned());
                        }
                    }
                }
            });
        }
    });

    let toggle_torch = {
        let cam = cam.clone();
        move |_| {
            let cam = cam.clone();
            spawn(async move {
                let on = !torch.peek().unwrap_or(false);
                let stream = cam.stream.borrow().clone();
                if let Some(s) = stream {
                    match camera::set_torch(&s, on).await {
                        Ok(()) => torch.set(Some(on)),
                        Err(why) => status.set(why),
                    }
                }
            });
        }
    };

    let on_photo = {
        let cam = cam.clone();
        move |_| {
            let cam = cam.clone();
            spawn(async move {
                let Some(input) = camera::element::<HtmlInputElement>("photo-input") else {
                    return;
                };
                let Some(file) = input.files().and_then(|f| f.get(0)) else {
                    return;
                };
                busy.set(true);
                status.set("正在识别照片…".to_owned());
                // Let the status paint before the decoder holds the thread.
                platform::sleep(30).await;
                let decoded = match scratch_canvas() {
                    Some(canvas) => camera::photo_rgba(&file, &canvas).await,
                    None => Err("无法读取照片".to_owned()),
                };
                input.set_value("");
                busy.set(false);
                let (w, h, rgba) = match decoded {
                    Ok(d) => d,
                    Err(why) => {
                        status.set(why);
                        return;
                    }
                };
                let found = zizhi_scan::decode_rgba(w, h, &rgba);
                match found.ours {
                    Some(text) => {
                        cam.stop();
                        state.check(text);
                    }
                    None if !found.others.is_empty() => status.set(FOREIGN.to_owned()),
                    None => status.set(
                        "未识别到二维码：请让二维码完整、清晰地出现在照片中，靠近一些重拍"
                            .to_owned(),
                    ),
                }
            });
        }
    };

    rsx! {
        section { class: "scan",
            div { class: "viewfinder",
                video {
                    id: "camera",
                    "data-testid": "camera",
                    autoplay: true,
                    muted: true,
                    "playsinline": "true",
                }
                div { class: "guide", "aria-hidden": "true",
                    span { class: "corner tl" }
                    span { class: "corner tr" }
                    span { class: "corner bl" }
                    span { class: "corner br" }
                }
                if let Some(on) = torch() {
                    button {
                        r#type: "button",
                        class: if on { "torch on" } else { "torch" },
                        "data-testid": "torch",
                        onclick: toggle_torch,
                        if on { "关闭手电筒" } else { "打开手电筒" }
                    }
                }
            }
            p {
                class: if failed() { "scan-status error" } else { "scan-status" },
                "data-testid": "scan-status",
                "data-decode-ms": decode_ms().map(|ms| ms.to_string()),
                "data-zoom": zoomed(),
                role: "status",
                "{status}"
            }
            label { class: "photo-button",
                input {
                    id: "photo-input",
                    r#type: "file",
                    accept: "image/*",
                    "capture": "environment",
                    "data-testid": "photo-input",
                    onchange: on_photo,
                }
                "选择照片"
            }
            p { class: "hint", "也可拍摄或选择证书照片识别。核验在本机离线完成，联网时显示实时状态。" }
        }
    }
}
