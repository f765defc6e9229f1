//! Drawing primitives on a krilla surface in millimetres, with text measured by the same
//! faces it is set in: text runs (left, centred, right, wrapped), lines, frames, the QR code,
//! the round seal and the background rosette.

use std::f32::consts::PI;

use krilla::color::rgb;
use krilla::geom::{Path, PathBuilder, Point, Rect, Transform};
use krilla::num::NormalizedF32;
use krilla::paint::{Fill, FillRule, LineCap, LineJoin, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;

use crate::fonts::Fonts;

/// Points per millimetre.
pub const MM: f32 = 72.0 / 25.4;

pub type Rgb = (u8, u8, u8);
pub const INK: Rgb = (0x1a, 0x1a, 0x1a);
pub const LABEL: Rgb = (0x4a, 0x40, 0x36);
pub const MUTED: Rgb = (0x6b, 0x63, 0x5b);
pub const BORDER: Rgb = (0x8a, 0x6a, 0x32);
pub const SEAL_RED: Rgb = (0xd4, 0x10, 0x1c);
pub const ROSETTE: Rgb = (0xee, 0xe4, 0xd0);
pub const WHITE: Rgb = (0xff, 0xff, 0xff);

/// How a run of text is set.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Font size in points.
    pub size: f32,
    pub bold: bool,
    pub color: Rgb,
}

impl Style {
    pub const fn new(size: f32, bold: bool, color: Rgb) -> Style {
        Style { size, bold, color }
    }
}

fn fill(color: Rgb, opacity: f32) -> Fill {
    Fill {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        opacity: NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE),
        rule: FillRule::NonZero,
    }
}

fn stroke(color: Rgb, width_pt: f32, opacity: f32) -> Stroke {
    Stroke {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        width: width_pt,
        miter_limit: 4.0,
        line_cap: LineCap::Butt,
        line_join: LineJoin::Miter,
        opacity: NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE),
        dash: None,
    }
}

/// A page surface addressed in millimetres from the top-left corner.
pub struct Canvas<'a, 'b> {
    pub surface: &'a mut Surface<'b>,
    pub fonts: &'a Fonts,
}

impl Canvas<'_, '_> {
    /// Width of `text` in millimetres, each run measured with the face it is set in.
    pub fn width(&self, text: &str, style: Style) -> f32 {
        self.fonts
            .runs(text, style.bold)
            .iter()
            .map(|r| r.face.width(r.text, style.size))
            .sum::<f32>()
            / MM
    }

    /// Sets `text` with its baseline starting at (`x`, `y`) mm.
    pub fn text(&mut self, x: f32, y: f32, text: &str, style: Style) {
        self.text_as(x, y, text, style, false);
    }

    /// Sets `text` as glyph outlines: it looks the same but is artwork, not text, so it stays
    /// out of copy-and-paste and text extraction (the seal's lettering).
    /// Each run of characters goes in the first face of the chain that has them, placed
    /// after the previous run by the width its own face gives it.
    pub fn text_as(&mut self, x: f32, y: f32, text: &str, style: Style, outlined: bool) {
        let fonts = self.fonts;
        let mut at = x * MM;
        self.surface.set_fill(Some(fill(style.color, 1.0)));
        for run in fonts.runs(text, style.bold) {
            // Without a bold face, a thin outline of the glyphs in the same colour reads as bold.
            self.surface.set_stroke(
                run.embolden
                    .then(|| stroke(style.color, style.size * 0.035, 1.0)),
            );
            self.surface.draw_text(
                Point::from_xy(at, y * MM),
                run.face.krilla(),
                style.size,
                run.text,
                outlined,
                TextDirection::LeftToRight,
            );
            at += run.face.width(run.text, style.size);
        }
        self.surface.set_stroke(None);
    }

    pub fn text_centred(&mut self, cx: f32, y: f32, text: &str, style: Style) {
        let w = self.width(text, style);
        self.text(cx - w / 2.0, y, text, style);
    }

    pub fn text_right(&mut self, right: f32, y: f32, text: &str, style: Style) {
        let w = self.width(text, style);
        self.text(right - w, y, text, style);
    }

    /// Splits `items` (joined by `sep`) into lines no wider than `width` mm, breaking between
    /// items where it can and inside an item only when the item alone is too wide.
    pub fn wrap_items(&self, items: &[String], sep: &str, width: f32, style: Style) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        for (i, item) in items.iter().enumerate() {
            let piece = if i + 1 < items.len() {
                format!("{item}{sep}")
            } else {
                item.clone()
            };
            let candidate = format!("{line}{piece}");
            if line.is_empty() || self.width(&candidate, style) <= width {
                line = candidate;
            } else {
                lines.push(std::mem::take(&mut line));
                line = piece;
            }
            // An item wider than a whole line is broken by characters.
            while self.width(&line, style) > width {
                let mut head = String::new();
                for c in line.chars() {
                    if self.width(&format!("{head}{c}"), style) > width && !head.is_empty() {
                        break;
                    }
                    head.push(c);
                }
                let rest = line[head.len()..].to_owned();
                lines.push(head);
                line = rest;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Wraps plain text by characters.
    pub fn wrap_text(&self, text: &str, width: f32, style: Style) -> Vec<String> {
        self.wrap_items(&[text.to_owned()], "", width, style)
    }

    pub fn fill_path(&mut self, path: &Path, color: Rgb, opacity: f32) {
        self.surface.set_stroke(None);
        self.surface.set_fill(Some(fill(color, opacity)));
        self.surface.draw_path(path);
    }

    pub fn stroke_path(&mut self, path: &Path, color: Rgb, width_mm: f32, opacity: f32) {
        self.surface.set_fill(None);
        self.surface
            .set_stroke(Some(stroke(color, width_mm * MM, opacity)));
        self.surface.draw_path(path);
        self.surface.set_stroke(None);
    }

    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, color: Rgb, width_mm: f32) {
        let mut pb = PathBuilder::new();
        pb.move_to(x1 * MM, y1 * MM);
        pb.line_to(x2 * MM, y2 * MM);
        if let Some(p) = pb.finish() {
            self.stroke_path(&p, color, width_mm, 1.0);
        }
    }

    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) -> Option<Path> {
        let r = Rect::from_xywh(x * MM, y * MM, w * MM, h * MM)?;
        let mut pb = PathBuilder::new();
        pb.push_rect(r);
        pb.finish()
    }

    pub fn push_transform(&mut self, t: Transform) {
        self.surface.push_transform(&t);
    }

    pub fn pop(&mut self) {
        self.surface.pop();
    }
}

/// The QR code of `qr_text` with its dark modules as filled squares; `side` mm includes the
/// four-module quiet zone, which is painted white so nothing behind can intrude on it.
pub fn qr(canvas: &mut Canvas<'_, '_>, x: f32, y: f32, side: f32, code: &qrcode::QrCode) {
    let n = code.width();
    let module = side / (n as f32 + 8.0);
    if let Some(bg) = canvas.rect(x, y, side, side) {
        canvas.fill_path(&bg, WHITE, 1.0);
    }
    let colors = code.to_colors();
    let mut pb = PathBuilder::new();
    for row in 0..n {
        let mut col = 0;
        while col < n {
            if colors[row * n + col] == qrcode::Color::Dark {
                // One rectangle per horizontal run: fewer path operators, and no hairline seams
                // between neighbouring modules in rasterisers.
                let start = col;
                while col < n && colors[row * n + col] == qrcode::Color::Dark {
                    col += 1;
                }
                let rx = x + (start as f32 + 4.0) * module;
                let ry = y + (row as f32 + 4.0) * module;
                if let Some(r) = Rect::from_xywh(
                    rx * MM,
                    ry * MM,
                    (col - start) as f32 * module * MM,
                    module * MM,
                ) {
                    pb.push_rect(r);
                }
            } else {
                col += 1;
            }
        }
    }
    if let Some(p) = pb.finish() {
        canvas.fill_path(&p, (0, 0, 0), 1.0);
    }
}

fn circle(cx: f32, cy: f32, r: f32) -> Option<Path> {
    // Four cubic arcs; k is the usual control-point distance for a quarter circle.
    let (cx, cy, r) = (cx * MM, cy * MM, r * MM);
    let k = r * 0.552_284_8;
    let mut pb = PathBuilder::new();
    pb.move_to(cx + r, cy);
    pb.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
    pb.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
    pb.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
    pb.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
    pb.close();
    pb.finish()
}

/// The issuer's round seal (公章样式), centred at (`cx`, `cy`) mm with `diameter` mm: a red
/// ring, a five-pointed star, the issuer's name around the upper arc and `legend` across the
/// lower half (none when empty). Slightly transparent, so text stamped over stays legible as on paper.
pub fn seal(
    canvas: &mut Canvas<'_, '_>,
    cx: f32,
    cy: f32,
    diameter: f32,
    issuer: &str,
    legend: &str,
) {
    let r = diameter / 2.0;
    let opacity = 0.9;
    canvas
        .surface
        .push_opacity(NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE));
    if let Some(ring) = circle(cx, cy, r - 0.55) {
        canvas.stroke_path(&ring, SEAL_RED, 1.1, 1.0);
    }
    // Star: outer radius r/4.2, inner ratio of a regular pentagram.
    let outer = r / 4.2;
    let inner = outer * 0.382;
    let mut pb = PathBuilder::new();
    for k in 0..10 {
        let rr = if k % 2 == 0 { outer } else { inner };
        let a = -PI / 2.0 + k as f32 * PI / 5.0;
        let (px, py) = ((cx + rr * a.cos()) * MM, (cy + rr * a.sin()) * MM);
        if k == 0 {
            pb.move_to(px, py);
        } else {
            pb.line_to(px, py);
        }
    }
    pb.close();
    if let Some(star) = pb.finish() {
        canvas.fill_path(&star, SEAL_RED, 1.0);
    }

    // The name runs clockwise over the top, each character upright towards the rim, inside
    // the ring with a small margin; long names get smaller characters rather than a sweep
    // past 250°.
    let chars: Vec<char> = issuer.chars().collect();
    let n = chars.len().max(1) as f32;
    let rim = r - 2.1;
    let mut size_mm = r * 0.2;
    let step = |size: f32| size * 1.08 / (rim - size / 2.0);
    while step(size_mm) * n > 250f32.to_radians() && size_mm > 1.5 {
        size_mm -= 0.1;
    }
    let sweep = step(size_mm) * (n - 1.0);
    let style = Style::new(size_mm * MM, true, SEAL_RED);
    for (i, c) in chars.iter().enumerate() {
        let angle = (-sweep / 2.0 + step(size_mm) * i as f32).to_degrees();
        let s = c.to_string();
        let w = canvas.width(&s, style);
        // Rotate by `angle` degrees (clockwise on the page) about the seal's centre.
        let (sin, cos) = angle.to_radians().sin_cos();
        let t = Transform::from_row(cos, sin, -sin, cos, cx * MM, cy * MM);
        canvas.push_transform(t);
        // In the rotated frame "up" points at the rim; the glyph's top sits just inside it.
        canvas.text_as(-w / 2.0, -rim + size_mm * 0.88, &s, style, true);
        canvas.pop();
    }
    if !legend.is_empty() {
        let legend_style = Style::new(r * 0.15 * MM, true, SEAL_RED);
        canvas.text_centred(cx, cy + r * 0.56, legend, legend_style);
    }
    canvas.surface.pop();
}

/// A guilloche-like rosette (a hypotrochoid) behind the text, in a pale tone: hard to
/// reproduce by hand, invisible to the QR reader and to text extraction.
pub fn rosette(canvas: &mut Canvas<'_, '_>, cx: f32, cy: f32, radius: f32) {
    let (big, small, d) = (radius * 0.63, radius * 0.63 / 7.0 * 2.0, radius * 0.42);
    let steps = 1400;
    let turns = 2.0 * PI * 2.0; // the curve closes after lcm-related turns: 2 for 7:2
    let mut pb = PathBuilder::new();
    for k in 0..=steps {
        let t = turns * k as f32 / steps as f32;
        let x = (big - small) * t.cos() + d * ((big - small) / small * t).cos();
        let y = (big - small) * t.sin() - d * ((big - small) / small * t).sin();
        let (px, py) = ((cx + x) * MM, (cy + y) * MM);
        if k == 0 {
            pb.move_to(px, py);
        } else {
            pb.line_to(px, py);
        }
    }
    if let Some(p) = pb.finish() {
        canvas.stroke_path(&p, ROSETTE, 0.18, 1.0);
    }
    for rr in [radius * 1.02, radius * 1.06] {
        if let Some(c) = circle(cx, cy, rr) {
            canvas.stroke_path(&c, ROSETTE, 0.18, 1.0);
        }
    }
}
