//! The camera and the photo fallback: `getUserMedia` into a `<video>`, frames drawn to a
//! canvas and read back as RGBA for `zizhi_scan`; a chosen photo goes the same way.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CanvasRenderingContext2d, DomException, HtmlCanvasElement, HtmlVideoElement, ImageBitmap,
    MediaStream, MediaStreamConstraints, MediaStreamTrack,
};

use super::platform::{document, window};
use crate::frame::{MAX_FRAME_SIDE, MAX_PHOTO_SIDE, fit};

fn obj(pairs: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o
}

/// The rear camera at about 720p: enough pixels for a 3.5 cm code at arm's length, few
/// enough to decode several frames a second in wasm.
fn constraints() -> MediaStreamConstraints {
    let ideal = |n: f64| obj(&[("ideal", JsValue::from_f64(n))]);
    let video = obj(&[
        ("facingMode", JsValue::from_str("environment")),
        ("width", ideal(1280.0).into()),
        ("height", ideal(720.0).into()),
    ]);
    obj(&[("video", video.into()), ("audio", JsValue::FALSE)]).unchecked_into()
}

/// The inspector-facing reason the camera did not start.
fn camera_error(e: &JsValue) -> String {
    let name = e
        .dyn_ref::<DomException>()
        .map(|d| d.name())
        .unwrap_or_default();
    match name.as_str() {
        "NotAllowedError" | "PermissionDeniedError" => {
            "相机权限被拒绝：请在浏览器设置中允许本网站使用相机，或点“选择照片”".into()
        }
        "NotFoundError" | "DevicesNotFoundError" | "OverconstrainedError" => {
            "未找到可用的相机：请点“选择照片”拍照或从相册选择".into()
        }
        "NotReadableError" | "TrackStartError" | "AbortError" => {
            "相机无法打开（可能被其他应用占用）：请关闭其他使用相机的应用后重试".into()
        }
        "SecurityError" => "浏览器不允许此页面使用相机：请通过 HTTPS 地址打开".into(),
        "" => "无法打开相机：请点“选择照片”".into(),
        other => format!("无法打开相机（{other}）：请点“选择照片”"),
    }
}

/// Opens the rear camera.
pub async fn open() -> Result<MediaStream, String> {
    let devices = window()
        .navigator()
        .media_devices()
        .map_err(|_| "此浏览器不支持相机（或页面不是 HTTPS）：请点“选择照片”".to_owned())?;
    // `mediaDevices` is undefined outside a secure context; web-sys still hands back an object.
    if JsValue::from(devices.clone()).is_undefined() {
        return Err("此页面不是 HTTPS，浏览器不允许使用相机：请点“选择照片”".into());
    }
    let promise = devices
        .get_user_media_with_constraints(&constraints())
        .map_err(|e| camera_error(&e))?;
    let stream = JsFuture::from(promise)
        .await
        .map_err(|e| camera_error(&e))?;
    Ok(stream.unchecked_into())
}

pub fn tracks(stream: &MediaStream) -> Vec<MediaStreamTrack> {
    stream
        .get_video_tracks()
        .iter()
        .filter_map(|t| t.dyn_into::<MediaStreamTrack>().ok())
        .collect()
}

/// Stops every track, so the camera light goes off.
pub fn close(stream: &MediaStream) {
    for t in tracks(stream) {
        t.stop();
    }
}

/// `track.<method>()` for the image-capture extensions web-sys has no stable binding for
/// (`getCapabilities`, `getSettings`).
fn call(track: &MediaStreamTrack, method: &str) -> Option<JsValue> {
    Reflect::get(track, &JsValue::from_str(method))
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?
        .call0(track)
        .ok()
}

/// One capability of the first video track (`getCapabilities()[name]`).
fn capability(stream: &MediaStream, name: &str) -> Option<JsValue> {
    let track = tracks(stream).into_iter().next()?;
    let caps = call(&track, "getCapabilities")?;
    Reflect::get(&caps, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// Whether the camera has a torch the page may switch (`getCapabilities().torch`).
pub fn has_torch(stream: &MediaStream) -> bool {
    capability(stream, "torch").is_some_and(|v| v.is_truthy())
}

/// `applyConstraints({advanced: [{name: value}]})` on the first video track.
async fn apply_advanced(stream: &MediaStream, name: &str, value: JsValue) -> Result<(), ()> {
    let track = tracks(stream).into_iter().next().ok_or(())?;
    let advanced = Array::of1(&obj(&[(name, value)]));
    let c = obj(&[("advanced", advanced.into())]);
    let promise = track
        .apply_constraints_with_constraints(c.unchecked_ref())
        .map_err(|_| ())?;
    JsFuture::from(promise).await.map(|_| ()).map_err(|_| ())
}

pub async fn set_torch(stream: &MediaStream, on: bool) -> Result<(), String> {
    if tracks(stream).is_empty() {
        return Err("没有相机".into());
    }
    apply_advanced(stream, "torch", JsValue::from_bool(on))
        .await
        .map_err(|_| "无法切换手电筒".to_owned())
}

/// Continuous autofocus where the camera offers it: some phones start in a fixed or
/// single-shot focus and stay blurred on a sheet of paper at 20 cm. Returns whether it was
/// asked for.
pub async fn continuous_focus(stream: &MediaStream) -> bool {
    let offered = capability(stream, "focusMode")
        .map(|modes| Array::from(&modes))
        .is_some_and(|modes| modes.includes(&JsValue::from_str("continuous"), 0));
    offered
        && apply_advanced(stream, "focusMode", JsValue::from_str("continuous"))
            .await
            .is_ok()
}

/// The camera's zoom range and the zoom now, where it has one (`getCapabilities().zoom`).
pub fn zoom(stream: &MediaStream) -> Option<(f64, f64)> {
    let range = capability(stream, "zoom")?;
    let max = Reflect::get(&range, &JsValue::from_str("max"))
        .ok()?
        .as_f64()?;
    let track = tracks(stream).into_iter().next()?;
    let now = call(&track, "getSettings")
        .and_then(|s| Reflect::get(&s, &JsValue::from_str("zoom")).ok())
        .and_then(|z| z.as_f64())
        .unwrap_or(1.0);
    Some((now, max))
}

pub async fn set_zoom(stream: &MediaStream, zoom: f64) -> bool {
    apply_advanced(stream, "zoom", JsValue::from_f64(zoom))
        .await
        .is_ok()
}

/// Asks for a larger stream (1080p, or 4K where the camera has it): the fallback when a
/// code is too small and the camera cannot zoom. The frame itself is still decoded at
/// [`MAX_FRAME_SIDE`]; [`grab_crop`] reads the code's region at the full resolution.
pub async fn ask_high_resolution(stream: &MediaStream) -> bool {
    let Some(track) = tracks(stream).into_iter().next() else {
        return false;
    };
    let ideal = |n: f64| obj(&[("ideal", JsValue::from_f64(n))]);
    let c = obj(&[
        ("facingMode", JsValue::from_str("environment")),
        ("width", ideal(3840.0).into()),
        ("height", ideal(2160.0).into()),
    ]);
    match track.apply_constraints_with_constraints(c.unchecked_ref()) {
        Ok(p) => JsFuture::from(p).await.is_ok(),
        Err(_) => false,
    }
}

/// Attaches the stream to the video element and starts playback.
pub fn attach(video: &HtmlVideoElement, stream: &MediaStream) {
    video.set_src_object(Some(stream));
    let _ = video.set_attribute("playsinline", "");
    video.set_muted(true);
    // play() rejects when the screen is left before playback starts; nothing to report then.
    if let Ok(p) = video.play() {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = JsFuture::from(p).await;
        });
    }
}

pub fn element<T: JsCast>(id: &str) -> Option<T> {
    document().get_element_by_id(id)?.dyn_into::<T>().ok()
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    // willReadFrequently keeps the canvas on the CPU, where getImageData is cheap.
    let opts = obj(&[("willReadFrequently", JsValue::TRUE)]);
    canvas
        .get_context_with_context_options("2d", &opts)
        .ok()
        .flatten()?
        .dyn_into()
        .ok()
}

/// The current video frame as RGBA, or `None` before the first frame has arrived.
pub fn grab(video: &HtmlVideoElement, canvas: &HtmlCanvasElement) -> Option<(u32, u32, Vec<u8>)> {
    // HAVE_CURRENT_DATA
    if video.ready_state() < 2 || video.video_width() == 0 {
        return None;
    }
    let (w, h) = fit(video.video_width(), video.video_height(), MAX_FRAME_SIDE);
    canvas.set_width(w);
    canvas.set_height(h);
    let ctx = context(canvas)?;
    ctx.draw_image_with_html_video_element_and_dw_and_dh(video, 0.0, 0.0, w as f64, h as f64)
        .ok()?;
    let data = ctx.get_image_data(0.0, 0.0, w as f64, h as f64).ok()?;
    Some((w, h, data.data().0))
}

/// A region of the current video frame, `(x, y, w, h)` in the video's own pixels, drawn
/// enlarged to about `scale` (at most [`MAX_FRAME_SIDE`] a side) with the browser's
/// high-quality smoothing: a small code read at the stream's full resolution, not at the
/// reduced size the whole frame is decoded at.
pub fn grab_crop(
    video: &HtmlVideoElement,
    canvas: &HtmlCanvasElement,
    region: (f64, f64, f64, f64),
    scale: f64,
) -> Option<(u32, u32, Vec<u8>)> {
    if video.ready_state() < 2 || video.video_width() == 0 {
        return None;
    }
    let (vw, vh) = (video.video_width() as f64, video.video_height() as f64);
    let (x, y) = (region.0.clamp(0.0, vw - 1.0), region.1.clamp(0.0, vh - 1.0));
    let (w, h) = (region.2.min(vw - x).max(1.0), region.3.min(vh - y).max(1.0));
    let (ow, oh) = fit(
        (w * scale).round().max(1.0) as u32,
        (h * scale).round().max(1.0) as u32,
        MAX_FRAME_SIDE,
    );
    canvas.set_width(ow);
    canvas.set_height(oh);
    let ctx = context(canvas)?;
    ctx.set_image_smoothing_enabled(true);
    let _ = Reflect::set(
        &ctx,
        &JsValue::from_str("imageSmoothingQuality"),
        &JsValue::from_str("high"),
    );
    ctx.draw_image_with_html_video_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
        video, x, y, w, h, 0.0, 0.0, ow as f64, oh as f64,
    )
    .ok()?;
    let data = ctx.get_image_data(0.0, 0.0, ow as f64, oh as f64).ok()?;
    Some((ow, oh, data.data().0))
}

/// White first: a transparent PNG or SVG would otherwise read as black on black.
fn white(ctx: &CanvasRenderingContext2d, w: u32, h: u32) {
    ctx.set_fill_style_str("#fff");
    ctx.fill_rect(0.0, 0.0, w as f64, h as f64);
}

/// A chosen photo (a `File`) decoded by the browser and drawn to RGBA: `createImageBitmap`,
/// or an `<img>` for what it refuses (SVG, some older browsers).
pub async fn photo_rgba(
    file: &web_sys::File,
    canvas: &HtmlCanvasElement,
) -> Result<(u32, u32, Vec<u8>), String> {
    const UNREADABLE: &str = "无法读取照片：不是图片文件，或格式不受支持";
    let ctx = context(canvas).ok_or("无法绘制照片")?;
    let bitmap = match window().create_image_bitmap_with_blob(file) {
        Ok(p) => JsFuture::from(p).await.ok(),
        Err(_) => None,
    };
    let (w, h) = if let Some(bitmap) = bitmap {
        let bitmap: ImageBitmap = bitmap.unchecked_into();
        let (w, h) = fit(bitmap.width(), bitmap.height(), MAX_PHOTO_SIDE);
        canvas.set_width(w);
        canvas.set_height(h);
        white(&ctx, w, h);
        ctx.draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, w as f64, h as f64)
            .map_err(|_| UNREADABLE.to_owned())?;
        bitmap.close();
        (w, h)
    } else {
        let url = web_sys::Url::create_object_url_with_blob(file).map_err(|_| UNREADABLE)?;
        let img = web_sys::HtmlImageElement::new().map_err(|_| UNREADABLE)?;
        img.set_src(&url);
        let loaded = JsFuture::from(img.decode()).await;
        let _ = web_sys::Url::revoke_object_url(&url);
        loaded.map_err(|_| UNREADABLE.to_owned())?;
        if img.natural_width() == 0 || img.natural_height() == 0 {
            return Err(UNREADABLE.into());
        }
        let (w, h) = fit(img.natural_width(), img.natural_height(), MAX_PHOTO_SIDE);
        canvas.set_width(w);
        canvas.set_height(h);
        white(&ctx, w, h);
        ctx.draw_image_with_html_image_element_and_dw_and_dh(&img, 0.0, 0.0, w as f64, h as f64)
            .map_err(|_| UNREADABLE.to_owned())?;
        (w, h)
    };
    let data = ctx
        .get_image_data(0.0, 0.0, w as f64, h as f64)
        .map_err(|_| "无法读取照片像素".to_owned())?;
    Ok((w, h, data.data().0))
}
