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

/// Whether the camera has a torch the page may switch (`getCapabilities().torch`).
pub fn has_torch(stream: &MediaStream) -> bool {
    // getCapabilities is not in web-sys's stable API set; call it by name.
    tracks(stream).first().is_some_and(|t| {
        Reflect::get(t, &JsValue::from_str("getCapabilities"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .and_then(|f| f.call0(t).ok())
            .and_then(|caps| Reflect::get(&caps, &JsValue::from_str("torch")).ok())
            .is_some_and(|v| v.is_truthy())
    })
}

pub async fn set_torch(stream: &MediaStream, on: bool) -> Result<(), String> {
    let Some(track) = tracks(stream).into_iter().next() else {
        return Err("没有相机".into());
    };
    let advanced = Array::of1(&obj(&[("torch", JsValue::from_bool(on))]));
    let c = obj(&[("advanced", advanced.into())]);
    let promise = track
        .apply_constraints_with_constraints(c.unchecked_ref())
        .map_err(|_| "无法切换手电筒".to_owned())?;
    JsFuture::from(promise)
        .await
        .map(|_| ())
        .map_err(|_| "无法切换手电筒".to_owned())
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
