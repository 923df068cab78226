//! Defects painted onto a rendered scene, with exact masks.
//!
//! The mask of a defect is every pixel the defect changed by at least
//! [`MASK_THRESHOLD`] in some channel, found by comparing the image before and
//! after painting it (before sensor noise and JPEG). So the mask is exact by
//! construction, for subtle defects too, and marks nothing a defect left
//! untouched. A bend is the exception: it shifts fine texture, which would
//! leave a speckled mask, so its mask is every object pixel it moved by at
//! least half a pixel. Mask values are the defect's class id
//! ([`DefectKind::id`]).

use serde::{Deserialize, Serialize};

use super::raster::{coverage, union_distance, Canvas, Shape, P};
use super::scene::Scene;
use crate::rng::Rng;

/// A pixel belongs to a defect when the defect changed it by this much: one
/// 8-bit grey level.
pub const MASK_THRESHOLD: f32 = 1.0 / 255.0;

/// The kinds of defect, VisA's and MVTec AD's common ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefectKind {
    Scratch,
    Crack,
    Spot,
    MissingPart,
    ExtraMaterial,
    ColourChange,
    Bend,
}

impl DefectKind {
    pub const ALL: [DefectKind; 7] = [
        DefectKind::Scratch,
        DefectKind::Crack,
        DefectKind::Spot,
        DefectKind::MissingPart,
        DefectKind::ExtraMaterial,
        DefectKind::ColourChange,
        DefectKind::Bend,
    ];

    /// The class id written into masks (0 is background).
    pub fn id(self) -> u8 {
        self as u8 + 1
    }

    /// The name used for MVTec-layout folders.
    pub fn name(self) -> &'static str {
        match self {
            DefectKind::Scratch => "scratch",
            DefectKind::Crack => "crack",
            DefectKind::Spot => "spot",
            DefectKind::MissingPart => "missing_part",
            DefectKind::ExtraMaterial => "extra_material",
            DefectKind::ColourChange => "colour_change",
            DefectKind::Bend => "bend",
        }
    }
}

/// One painted defect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Defect {
    pub kind: DefectKind,
    /// Size as a fraction of the image side (0.024 tiny … 0.18 large).
    pub size: f32,
    /// Strength of the change in [0, 1] (0.08 subtle … 0.84 obvious).
    pub contrast: f32,
}

impl Defect {
    /// A random defect: four sizes and four contrasts, equally likely, so a
    /// quarter are small and a quarter subtle. These levels set the demo
    /// set's difficulty (measured in `docs/DATA.md`).
    pub fn draw(rng: &mut Rng) -> Self {
        Defect {
            kind: *rng.pick(&DefectKind::ALL),
            size: *rng.pick(&[0.03, 0.06, 0.1, 0.15]) * rng.range(0.8, 1.2),
            contrast: *rng.pick(&[0.1, 0.3, 0.5, 0.7]) * rng.range(0.8, 1.2),
        }
    }
}

/// A point on the objects at least `margin` px inside, or an anchor.
fn point_on(scene: &Scene, rng: &mut Rng, margin: f32) -> P {
    let (w, h) = (scene.canvas.width as f32, scene.canvas.height as f32);
    for _ in 0..200 {
        let p = P(rng.range(0.0, w), rng.range(0.0, h));
        if scene.inside(p, margin) {
            return p;
        }
    }
    anchor(scene, rng)
}

fn anchor(scene: &Scene, rng: &mut Rng) -> P {
    let (w, h) = (scene.canvas.width as f32, scene.canvas.height as f32);
    match scene.anchors.as_slice() {
        [] => P(w / 2.0, h / 2.0),
        anchors => {
            let p = *rng.pick(anchors);
            P(p.0 + rng.range(-2.0, 2.0), p.1 + rng.range(-2.0, 2.0))
        }
    }
}

/// How much of a pixel lies on the objects (surface defects stay there).
fn on_object(scene: &Scene, p: P) -> f32 {
    coverage(union_distance(&scene.footprint, p), 1.0)
}

/// Paints `defect` into the scene and marks it in `mask` (one id per pixel).
pub fn apply(scene: &mut Scene, defect: &Defect, rng: &mut Rng, mask: &mut [u8]) {
    let before = scene.canvas.clone();
    let side = scene.canvas.width.min(scene.canvas.height) as f32;
    let extent = (defect.size * side).max(3.0);
    let contrast = defect.contrast.clamp(0.02, 1.0);
    match defect.kind {
        DefectKind::Scratch => {
            let start = point_on(scene, rng, 2.0);
            let (dx, dy) = rng.direction();
            let end = start.add(P(dx, dy).scale(extent * 1.5));
            let line = Shape::Capsule {
                a: start,
                b: end,
                // Long scratches are wider, so large ones still show when
                // the image is scored at half its size.
                radius: rng.range(0.6, 1.0) + extent * 0.03,
            };
            let tone = if rng.chance(0.6) { [1.0; 3] } else { [0.0; 3] };
            surface(scene, &line, 1.0, (contrast * 1.5).min(0.9), |_, _| tone);
        }
        DefectKind::Crack => {
            let mut at = point_on(scene, rng, 3.0);
            let (mut dx, mut dy) = rng.direction();
            let segments = rng.int(3, 6);
            let width = rng.range(0.6, 1.2) + extent * 0.03;
            for _ in 0..segments {
                let next = at.add(P(dx, dy).scale(extent / segments as f32 * 1.6));
                let line = Shape::Capsule {
                    a: at,
                    b: next,
                    radius: width,
                };
                surface(scene, &line, 1.0, (contrast * 1.6).min(0.95), |_, _| {
                    [0.05, 0.04, 0.03]
                });
                at = next;
                let turn = P(dx, dy).rotate(rng.rotation(0.9));
                (dx, dy) = (turn.0, turn.1);
            }
        }
        DefectKind::Spot => {
            let centre = point_on(scene, rng, 2.0);
            let stain = *rng.pick(&[[0.35, 0.22, 0.1], [0.1, 0.1, 0.1], [0.55, 0.3, 0.1]]);
            let blob = Shape::Ellipse {
                centre,
                radii: P(extent * 0.5, extent * rng.range(0.25, 0.5)),
                rotation: rng.direction(),
            };
            surface(scene, &blob, 2.5, (contrast * 1.4).min(0.9), |_, _| stain);
        }
        DefectKind::ColourChange => {
            let centre = point_on(scene, rng, 2.0);
            let tint = [
                rng.range(-1.0, 1.0),
                rng.range(-1.0, 1.0),
                rng.range(-1.0, 1.0),
            ];
            let patch = Shape::Ellipse {
                centre,
                radii: P(extent * 0.6, extent * rng.range(0.35, 0.6)),
                rotation: rng.direction(),
            };
            surface(scene, &patch, 4.0, 1.0, |canvas, p| {
                let colour = canvas.at(p);
                [0, 1, 2].map(|k| colour[k] * (1.0 + contrast * 0.8 * tint[k]))
            });
        }
        DefectKind::MissingPart => {
            let centre = anchor(scene, rng);
            let hole = Shape::Circle {
                centre,
                radius: extent * 0.5,
            };
            let base = scene.base.clone();
            scene.canvas.fill_with(&hole, 1.0, 1.0, |p| base.at(p));
        }
        DefectKind::ExtraMaterial => {
            let centre = anchor(scene, rng);
            let colour = scene.canvas.at(centre);
            let shade = 1.0 + contrast * rng.range(-0.4, 0.4);
            let lump = Shape::Ellipse {
                centre,
                radii: P(extent * 0.45, extent * rng.range(0.2, 0.45)),
                rotation: rng.direction(),
            };
            scene
                .canvas
                .fill_with(&lump, 1.5, 1.0, |_| colour.map(|c| c * shade));
        }
        DefectKind::Bend => {
            let centre = anchor(scene, rng);
            let (dx, dy) = rng.direction();
            let push = P(dx, dy).scale(1.5 + contrast * 8.0);
            let id = defect.kind.id();
            for i in warp(scene, centre, extent, push) {
                mask[i] = id;
            }
            return;
        }
    }
    let id = defect.kind.id();
    for (i, marked) in mask.iter_mut().enumerate() {
        let changed = (0..3)
            .any(|c| (scene.canvas.rgb[3 * i + c] - before.rgb[3 * i + c]).abs() >= MASK_THRESHOLD);
        if changed {
            *marked = id;
        }
    }
}

/// Paints over a shape, only where it lies on the objects.
fn surface(
    scene: &mut Scene,
    shape: &Shape,
    soft: f32,
    alpha: f32,
    colour: impl Fn(&Canvas, P) -> [f32; 3],
) {
    let (x0, y0, x1, y1) = scene.canvas.span(shape.bounds());
    for y in y0..y1 {
        for x in x0..x1 {
            let p = P(x as f32 + 0.5, y as f32 + 0.5);
            let a = coverage(shape.distance(p), soft) * alpha * on_object(scene, p);
            if a > 0.0 {
                let c = colour(&scene.canvas, p);
                scene.canvas.blend(x, y, c, a);
            }
        }
    }
}

/// Pushes the object pixels within `radius` of `centre` by up to `push`
/// (smoothly less toward the edge): a local bend or dent. The background
/// stays put except where the object moved over or off it. Returns the
/// indices of the pixels moved by at least half a pixel.
fn warp(scene: &mut Scene, centre: P, radius: f32, push: P) -> Vec<usize> {
    let source = scene.canvas.clone();
    let bounds = (
        centre.0 - radius,
        centre.1 - radius,
        centre.0 + radius,
        centre.1 + radius,
    );
    let (x0, y0, x1, y1) = scene.canvas.span(bounds);
    let mut moved = Vec::new();
    for y in y0..y1 {
        for x in x0..x1 {
            let p = P(x as f32 + 0.5, y as f32 + 0.5);
            let t = p.sub(centre).length() / radius;
            if t >= 1.0 {
                continue;
            }
            let weight = (1.0 - t * t) * (1.0 - t * t);
            let from = p.sub(push.scale(weight));
            if on_object(scene, p) == 0.0 && on_object(scene, from) == 0.0 {
                continue;
            }
            let colour = bilinear(&source, from);
            let i = y * scene.canvas.width + x;
            scene.canvas.rgb[3 * i..3 * i + 3].copy_from_slice(&colour);
            if push.length() * weight >= 0.5 {
                moved.push(i);
            }
        }
    }
    moved
}

fn bilinear(canvas: &Canvas, p: P) -> [f32; 3] {
    let max_x = canvas.width as f32 - 1.0;
    let max_y = canvas.height as f32 - 1.0;
    let x = (p.0 - 0.5).clamp(0.0, max_x);
    let y = (p.1 - 0.5).clamp(0.0, max_y);
    let (x0, y0) = (x.floor(), y.floor());
    let (tx, ty) = (x - x0, y - y0);
    let (x0, y0) = (x0 as usize, y0 as usize);
    let (x1, y1) = (
        (x0 + 1).min(canvas.width - 1),
        (y0 + 1).min(canvas.height - 1),
    );
    let (a, b, c, d) = (
        canvas.get(x0, y0),
        canvas.get(x1, y0),
        canvas.get(x0, y1),
        canvas.get(x1, y1),
    );
    let mut out = [0.0; 3];
    for k in 0..3 {
        let top = a[k] + (b[k] - a[k]) * tx;
        let bottom = c[k] + (d[k] - c[k]) * tx;
        out[k] = top + (bottom - top) * ty;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth::scene::{render, SynthClass};

    #[test]
    fn surface_defects_stay_on_the_objects_and_every_kind_shows() {
        let size = 96;
        for class in SynthClass::ALL {
            for kind in DefectKind::ALL {
                let mut rng = Rng::new(5, class as u64);
                let mut scene = render(class, size, &mut Rng::new(5, 99), &mut rng);
                let defect = Defect {
                    kind,
                    size: 0.09,
                    contrast: 0.6,
                };
                let mut mask = vec![0u8; size * size];
                apply(&mut scene, &defect, &mut rng, &mut mask);
                let marked: Vec<usize> = (0..mask.len()).filter(|&i| mask[i] != 0).collect();
                assert!(!marked.is_empty(), "{class:?} {kind:?} changed nothing");
                assert!(marked.iter().all(|&i| mask[i] == kind.id()));
                let surface = matches!(
                    kind,
                    DefectKind::Scratch
                        | DefectKind::Crack
                        | DefectKind::Spot
                        | DefectKind::ColourChange
                );
                if surface {
                    for &i in &marked {
                        let p = P((i % size) as f32 + 0.5, (i / size) as f32 + 0.5);
                        assert!(on_object(&scene, p) > 0.0, "{class:?} {kind:?} at {p:?}");
                    }
                }
            }
        }
    }
}
