//! What a live camera adds: a printed certificate filmed from too far away (about 2 px a
//! module) and one filmed out of focus (blurred over about a module) must still be read by
//! the app through the fake camera. Whether zbar reads the first frame is printed for
//! scale, and so is the time from the scan screen being up to the verdict (`time to first
//! decode`, for mobile/README.md): the test asserts the decode, not its speed.

use serde_json::json;

use super::footage::{self, Aim};
use super::{case, demo_app, drive, print_of};

#[tokio::test]
async fn far_and_defocused_prints_are_read_by_the_camera() {
    let (env, app, summary) = demo_app().await;
    let name = "current_usage";
    let expected = case(&summary, name).qr_text.clone();
    let page = print_of(&env, &summary, name);
    let mut steps = Vec::new();
    for (label, aim) in [("far", Aim::Far), ("defocused", Aim::Defocused)] {
        let video = page.with_file_name(format!("{name}-{label}.y4m"));
        footage::camera_video(&page, aim, &video);
        let png = page.with_file_name(format!("{name}-{label}-frame0.png"));
        footage::frame(&video, 0, &png);
        eprintln!(
            "{label}: zbar reads frame 0: {}",
            footage::zbar_reads(&png, &expected)
        );
        steps.extend([
            json!({ "op": "launch", "b": label, "video": video }),
            json!({ "op": "open", "b": label, "name": format!("open-{label}") }),
            json!({ "op": "result", "b": label, "name": label, "source": "live",
                    "shot": format!("app-result-{label}") }),
            json!({ "op": "close", "b": label }),
        ]);
    }
    let mut app = Some(app);
    let seen = drive(&mut app, steps).await;
    for label in ["far", "defocused"] {
        let opened = seen.named(&format!("open-{label}"));
        assert_eq!(opened["mounted"], true, "{label}: {opened}");
        let r = seen.named(label);
        eprintln!("time to first decode ({label}): {} ms", r["ms"]);
        assert_eq!(r["found"], true, "{label}: no result from the camera: {r}");
        assert_eq!(r["title"], "真实有效", "{label}: {r}");
    }
    seen.assert_no_page_errors();
    if let Some(app) = app {
        app.stop().await;
    }
    env.finish().await;
}
