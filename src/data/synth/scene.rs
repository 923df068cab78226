//! The six object classes, two of each of VisA's kinds (complex structure,
//! multiple instances, single instance), rendered defect-free.
//!
//! A class's design (a board's layout, say) is drawn once from the class's own
//! stream, like a product line makes one design; each image then varies it as
//! a line would: position and rotation jitter, instance count, colour,
//! lighting and texture noise.

use serde::{Deserialize, Serialize};

use super::raster::{union_distance, Canvas, Colour, Noise, Shape, P};
use crate::rng::Rng;

/// VisA's three kinds of object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// Printed circuit boards: many parts in a fixed layout.
    ComplexStructure,
    /// Several objects per image (capsules, macaroni).
    MultipleInstances,
    /// One object per image (cashew, fryum).
    SingleInstance,
}

/// The generated classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SynthClass {
    #[cfg_attr(feature = "clap", value(name = "pcb_green"))]
    PcbGreen,
    #[cfg_attr(feature = "clap", value(name = "pcb_blue"))]
    PcbBlue,
    #[cfg_attr(feature = "clap", value(name = "capsules"))]
    Capsules,
    #[cfg_attr(feature = "clap", value(name = "macaroni"))]
    Macaroni,
    #[cfg_attr(feature = "clap", value(name = "cashew"))]
    Cashew,
    #[cfg_attr(feature = "clap", value(name = "fryum"))]
    Fryum,
}

impl SynthClass {
    pub const ALL: [SynthClass; 6] = [
        SynthClass::PcbGreen,
        SynthClass::PcbBlue,
        SynthClass::Capsules,
        SynthClass::Macaroni,
        SynthClass::Cashew,
        SynthClass::Fryum,
    ];

    /// The object's folder and CSV name.
    pub fn name(self) -> &'static str {
        match self {
            SynthClass::PcbGreen => "pcb_green",
            SynthClass::PcbBlue => "pcb_blue",
            SynthClass::Capsules => "capsules",
            SynthClass::Macaroni => "macaroni",
            SynthClass::Cashew => "cashew",
            SynthClass::Fryum => "fryum",
        }
    }

    pub fn kind(self) -> ObjectKind {
        match self {
            SynthClass::PcbGreen | SynthClass::PcbBlue => ObjectKind::ComplexStructure,
            SynthClass::Capsules | SynthClass::Macaroni => ObjectKind::MultipleInstances,
            SynthClass::Cashew | SynthClass::Fryum => ObjectKind::SingleInstance,
        }
    }
}

/// A rendered defect-free image and what defects need to know about it.
pub struct Scene {
    pub canvas: Canvas,
    /// What shows where a part goes missing: the bare board, the background.
    pub base: Canvas,
    /// The objects' outlines: surface defects go inside.
    pub footprint: Vec<Shape>,
    /// Points on parts and edges, where structural defects go.
    pub anchors: Vec<P>,
}

impl Scene {
    /// Whether `p` is on an object, at least `margin` px inside.
    pub fn inside(&self, p: P, margin: f32) -> bool {
        union_distance(&self.footprint, p) < -margin
    }
}

/// Position, rotation and scale of an object in the image.
#[derive(Debug, Clone, Copy)]
struct Place {
    centre: P,
    rotation: (f32, f32),
    scale: f32,
}

impl Place {
    fn point(&self, local: P) -> P {
        self.centre
            .add(local.scale(self.scale).rotate(self.rotation))
    }

    fn shape(&self, shape: &Shape) -> Shape {
        let turn = |(c, s): (f32, f32)| {
            let (c0, s0) = self.rotation;
            (c0 * c - s0 * s, s0 * c + c0 * s)
        };
        let k = self.scale;
        match *shape {
            Shape::Circle { centre, radius } => Shape::Circle {
                centre: self.point(centre),
                radius: radius * k,
            },
            Shape::Capsule { a, b, radius } => Shape::Capsule {
                a: self.point(a),
                b: self.point(b),
                radius: radius * k,
            },
            Shape::Rect {
                centre,
                half,
                rotation,
                round,
            } => Shape::Rect {
                centre: self.point(centre),
                half: half.scale(k),
                rotation: turn(rotation),
                round: round * k,
            },
            Shape::Ring {
                centre,
                radius,
                half_width,
            } => Shape::Ring {
                centre: self.point(centre),
                radius: radius * k,
                half_width: half_width * k,
            },
            Shape::Ellipse {
                centre,
                radii,
                rotation,
            } => Shape::Ellipse {
                centre: self.point(centre),
                radii: radii.scale(k),
                rotation: turn(rotation),
            },
        }
    }
}

const NO_TURN: (f32, f32) = (1.0, 0.0);

/// A colour varied by about `spread` per channel, with a common brightness.
fn vary(rng: &mut Rng, colour: Colour, spread: f32) -> Colour {
    let gain = 1.0 + 0.5 * spread * rng.normal();
    colour.map(|c| c * gain + spread * 0.5 * rng.normal() * c)
}

/// A textured flat background.
fn background(rng: &mut Rng, size: usize, colour: Colour, texture: f32) -> Canvas {
    let colour = vary(rng, colour, 0.04);
    let mut canvas = Canvas::new(size, size, colour);
    let coarse = Noise::new(rng, size as f32 / 6.0);
    let fine = Noise::new(rng, 2.5);
    for y in 0..size {
        for x in 0..size {
            let p = P(x as f32, y as f32);
            let g = 1.0 + texture * (0.6 * coarse.at(p) + 0.4 * fine.at(p));
            let i = 3 * (y * size + x);
            for c in 0..3 {
                canvas.rgb[i + c] *= g;
            }
        }
    }
    canvas
}

/// Paints a shape with a material: a base colour modulated by noise texture
/// and darkened toward its rim (a rounded object lit from above).
fn material(
    canvas: &mut Canvas,
    shape: &Shape,
    colour: Colour,
    texture: &Noise,
    strength: f32,
    rim: f32,
) {
    canvas.fill_with(shape, 1.0, 1.0, |p| {
        let depth = (-shape.distance(p) / rim).clamp(0.0, 1.0);
        let g = (0.78 + 0.22 * depth) * (1.0 + strength * texture.at(p));
        colour.map(|c| c * g)
    });
}

/// A soft shadow under a shape.
fn shadow(canvas: &mut Canvas, shape: &Shape, offset: P, soft: f32) {
    let moved = Place {
        centre: offset,
        rotation: NO_TURN,
        scale: 1.0,
    }
    .shape(shape);
    canvas.fill_with(&moved, soft, 0.35, |_| [0.0, 0.0, 0.0]);
}

/// Smooth lighting: a brightness gradient over the whole image, applied to
/// the image and to what missing parts reveal alike.
fn light(rng: &mut Rng, canvases: [&mut Canvas; 2]) {
    let (gain, gx, gy) = (
        rng.range(0.9, 1.08),
        rng.range(-0.12, 0.12),
        rng.range(-0.12, 0.12),
    );
    for canvas in canvases {
        let (w, h) = (canvas.width as f32, canvas.height as f32);
        for y in 0..canvas.height {
            for x in 0..canvas.width {
                let g = gain + gx * (x as f32 / w - 0.5) + gy * (y as f32 / h - 0.5);
                let i = 3 * (y * canvas.width + x);
                for c in 0..3 {
                    canvas.rgb[i + c] *= g;
                }
            }
        }
    }
}

/// Renders one defect-free image of `class`. `design` is the class's own
/// stream (the same for every image), `rng` the image's.
pub fn render(class: SynthClass, size: usize, design: &mut Rng, rng: &mut Rng) -> Scene {
    let mut scene = match class {
        SynthClass::PcbGreen => pcb(size, design, rng, &GREEN_BOARD),
        SynthClass::PcbBlue => pcb(size, design, rng, &BLUE_BOARD),
        SynthClass::Capsules => capsules(size, rng),
        SynthClass::Macaroni => macaroni(size, rng),
        SynthClass::Cashew => cashew(size, rng),
        SynthClass::Fryum => fryum(size, rng),
    };
    light(rng, [&mut scene.canvas, &mut scene.base]);
    scene
}

/// One board design's look.
struct Board {
    board: Colour,
    trace: Colour,
    copper: Colour,
    round_pads: bool,
    /// Electrolytic capacitors (blue board) or more chips (green board).
    capacitors: bool,
}

const GREEN_BOARD: Board = Board {
    board: [0.12, 0.42, 0.2],
    trace: [0.2, 0.55, 0.28],
    copper: [0.78, 0.66, 0.38],
    round_pads: false,
    capacitors: false,
};

const BLUE_BOARD: Board = Board {
    board: [0.1, 0.22, 0.5],
    trace: [0.18, 0.32, 0.62],
    copper: [0.8, 0.8, 0.78],
    round_pads: true,
    capacitors: true,
};

/// A PCB: traces between pads, chips with pins, small parts and holes, in a
/// layout drawn once per class from `design`.
fn pcb(size: usize, design: &mut Rng, rng: &mut Rng, look: &Board) -> Scene {
    let s = size as f32;
    let mut canvas = background(rng, size, [0.82, 0.82, 0.8], 0.03);
    let place = Place {
        centre: P(
            s * (0.5 + rng.range(-0.01, 0.01)),
            s * (0.5 + rng.range(-0.01, 0.01)),
        ),
        rotation: rng.rotation(0.03),
        scale: s * rng.range(0.99, 1.01),
    };
    // Board-local units: the board spans ±0.4.
    let board = place.shape(&Shape::Rect {
        centre: P(0.0, 0.0),
        half: P(0.4, 0.4),
        rotation: NO_TURN,
        round: 0.02,
    });
    shadow(&mut canvas, &board, P(s * 0.01, s * 0.015), s * 0.03);
    let texture = Noise::new(rng, 3.0);
    let board_colour = vary(rng, look.board, 0.05);
    material(&mut canvas, &board, board_colour, &texture, 0.06, s * 0.01);

    // The design: a fixed grid of sites, each a chip, a small part or a
    // capacitor, with pads joined by traces. `design` is re-seeded per image
    // by the caller, so every image gets the same layout.
    let grid = 5;
    let pitch = 0.8 / grid as f32;
    let mut pads: Vec<P> = Vec::new();
    let mut parts: Vec<(Shape, Colour)> = Vec::new();
    let mut anchors = Vec::new();
    for gy in 0..grid {
        for gx in 0..grid {
            let centre = P(
                -0.4 + pitch * (gx as f32 + 0.5),
                -0.4 + pitch * (gy as f32 + 0.5),
            );
            let turned = design.chance(0.5);
            let (along, across) = if turned {
                (P(0.0, 1.0), P(1.0, 0.0))
            } else {
                (P(1.0, 0.0), P(0.0, 1.0))
            };
            match design.int(0, 9) {
                0..=2 => {
                    // A chip with pins on two sides.
                    let half = P(pitch * 0.32, pitch * 0.2);
                    let half = if turned { P(half.1, half.0) } else { half };
                    let pins = design.int(3, 5);
                    for side in [-1.0f32, 1.0] {
                        for k in 0..pins {
                            let t = (k as f32 + 0.5) / pins as f32 - 0.5;
                            let at = centre
                                .add(along.scale(t * pitch * 0.55))
                                .add(across.scale(side * pitch * 0.27));
                            parts.push((
                                Shape::Capsule {
                                    a: at.sub(across.scale(pitch * 0.05)),
                                    b: at.add(across.scale(pitch * 0.05)),
                                    radius: pitch * 0.025,
                                },
                                [0.75, 0.75, 0.74],
                            ));
                            pads.push(at.add(across.scale(side * pitch * 0.12)));
                        }
                    }
                    parts.push((
                        Shape::Rect {
                            centre,
                            half,
                            rotation: NO_TURN,
                            round: pitch * 0.02,
                        },
                        [0.08, 0.08, 0.09],
                    ));
                    anchors.push(centre.add(along.scale(pitch * 0.3)));
                }
                3..=5 => {
                    // A two-terminal part with metal end caps.
                    let half = along.scale(pitch * 0.16).add(across.scale(pitch * 0.08));
                    let body = if look.capacitors {
                        [0.55, 0.45, 0.3]
                    } else {
                        [0.85, 0.78, 0.6]
                    };
                    parts.push((
                        Shape::Rect {
                            centre,
                            half: P(half.0.abs(), half.1.abs()),
                            rotation: NO_TURN,
                            round: pitch * 0.02,
                        },
                        body,
                    ));
                    for side in [-1.0f32, 1.0] {
                        let cap = centre.add(along.scale(side * pitch * 0.14));
                        parts.push((
                            Shape::Circle {
                                centre: cap,
                                radius: pitch * 0.06,
                            },
                            [0.8, 0.8, 0.8],
                        ));
                        pads.push(centre.add(along.scale(side * pitch * 0.3)));
                    }
                    anchors.push(centre);
                }
                6 | 7 if look.capacitors => {
                    // An electrolytic capacitor seen from above.
                    parts.push((
                        Shape::Circle {
                            centre,
                            radius: pitch * 0.3,
                        },
                        [0.15, 0.15, 0.4],
                    ));
                    parts.push((
                        Shape::Circle {
                            centre,
                            radius: pitch * 0.22,
                        },
                        [0.8, 0.8, 0.82],
                    ));
                    parts.push((
                        Shape::Capsule {
                            a: centre.sub(P(pitch * 0.15, 0.0)),
                            b: centre.add(P(pitch * 0.15, 0.0)),
                            radius: pitch * 0.02,
                        },
                        [0.55, 0.55, 0.58],
                    ));
                    anchors.push(centre.add(P(0.0, pitch * 0.28)));
                }
                _ => {
                    // A plated hole.
                    parts.push((
                        Shape::Circle {
                            centre,
                            radius: pitch * 0.12,
                        },
                        look.copper,
                    ));
                    parts.push((
                        Shape::Circle {
                            centre,
                            radius: pitch * 0.06,
                        },
                        [0.05, 0.05, 0.05],
                    ));
                    pads.push(centre);
                }
            }
        }
    }
    // Traces: each pad joins a later pad by an L-shaped route.
    let mut traces = Vec::new();
    for i in 0..pads.len() {
        if !design.chance(0.6) {
            continue;
        }
        let j = design.int(i as u32, pads.len() as u32 - 1) as usize;
        let (a, b) = (pads[i], pads[j]);
        let corner = if design.chance(0.5) {
            P(a.0, b.1)
        } else {
            P(b.0, a.1)
        };
        for (from, to) in [(a, corner), (corner, b)] {
            traces.push(Shape::Capsule {
                a: from,
                b: to,
                radius: 0.004,
            });
        }
    }
    let trace_colour = vary(rng, look.trace, 0.04);
    for trace in &traces {
        canvas.fill(&place.shape(trace), trace_colour);
    }
    let base = canvas.clone();
    let copper = vary(rng, look.copper, 0.04);
    for pad in &pads {
        let pad = if look.round_pads {
            Shape::Circle {
                centre: *pad,
                radius: 0.011,
            }
        } else {
            Shape::Rect {
                centre: *pad,
                half: P(0.01, 0.01),
                rotation: NO_TURN,
                round: 0.002,
            }
        };
        canvas.fill(&place.shape(&pad), copper);
    }
    for (part, colour) in &parts {
        // Parts sit up to half a pixel off their design position.
        let nudge = Place {
            centre: P(rng.range(-0.5, 0.5), rng.range(-0.5, 0.5)),
            rotation: NO_TURN,
            scale: 1.0,
        };
        let shape = nudge.shape(&place.shape(part));
        let colour = vary(rng, *colour, 0.03);
        material(&mut canvas, &shape, colour, &texture, 0.03, s * 0.006);
    }
    Scene {
        canvas,
        base,
        footprint: vec![board],
        anchors: anchors.into_iter().map(|a| place.point(a)).collect(),
    }
}

/// The centres of a `columns` × `rows` grid of slots over the image, each
/// moved by up to `jitter` (a fraction of the side) in x and y: trays and
/// feeders hold several objects in roughly fixed places, as VisA's candles and
/// macaroni lie.
fn slots(rng: &mut Rng, size: f32, columns: u32, rows: u32, jitter: f32) -> Vec<P> {
    let mut centres = Vec::new();
    for row in 0..rows {
        for column in 0..columns {
            let x = (column as f32 + 0.5) / columns as f32;
            let y = (row as f32 + 0.5) / rows as f32;
            centres.push(P(
                size * (0.5 + 0.88 * (x - 0.5) + rng.range(-jitter, jitter)),
                size * (0.5 + 0.88 * (y - 0.5) + rng.range(-jitter, jitter)),
            ));
        }
    }
    centres
}

/// Four to six two-tone capsules in a tray of three rows of two slots, the
/// empty slots drawn at random.
fn capsules(size: usize, rng: &mut Rng) -> Scene {
    let s = size as f32;
    let mut canvas = background(rng, size, [0.78, 0.8, 0.82], 0.04);
    let base = canvas.clone();
    let (half_length, radius) = (s * 0.1, s * 0.05);
    let count = rng.int(4, 6) as usize;
    let texture = Noise::new(rng, 4.0);
    let shell = vary(rng, [0.78, 0.2, 0.16], 0.04);
    let cap = vary(rng, [0.93, 0.9, 0.84], 0.02);
    let mut footprint = Vec::new();
    let mut anchors = Vec::new();
    let mut centres = slots(rng, s, 2, 3, 0.025);
    while centres.len() > count {
        centres.remove(rng.int(0, centres.len() as u32 - 1) as usize);
    }
    for centre in centres {
        let direction = rng.rotation(0.3);
        let axis = P(direction.0, direction.1).scale(half_length * rng.range(0.97, 1.03));
        let (a, b) = (centre.sub(axis), centre.add(axis));
        let whole = Shape::Capsule { a, b, radius };
        shadow(&mut canvas, &whole, P(s * 0.008, s * 0.012), s * 0.02);
        material(&mut canvas, &whole, cap, &texture, 0.02, radius * 0.8);
        let half = Shape::Capsule {
            a,
            b: centre,
            radius: radius * 1.01,
        };
        material(&mut canvas, &half, shell, &texture, 0.02, radius * 0.8);
        // A highlight along the top.
        let lift = P(0.0, -radius * 0.4);
        canvas.fill_with(
            &Shape::Capsule {
                a: a.add(lift).add(axis.scale(0.2)),
                b: b.add(lift).sub(axis.scale(0.2)),
                radius: radius * 0.18,
            },
            3.0,
            0.35,
            |_| [1.0, 1.0, 1.0],
        );
        footprint.push(whole);
        anchors.extend([a.sub(axis.scale(0.35)), b.add(axis.scale(0.35)), centre]);
    }
    Scene {
        canvas,
        base,
        footprint,
        anchors,
    }
}

/// Four ring-shaped pasta pieces in a two-by-two layout on a dark textured
/// mat, as VisA's macaroni.
fn macaroni(size: usize, rng: &mut Rng) -> Scene {
    let s = size as f32;
    let mut canvas = background(rng, size, [0.2, 0.26, 0.18], 0.12);
    let base = canvas.clone();
    let texture = Noise::new(rng, 2.0);
    let colour = vary(rng, [0.93, 0.8, 0.48], 0.04);
    let mut footprint = Vec::new();
    let mut anchors = Vec::new();
    for centre in slots(rng, s, 2, 2, 0.025) {
        let ring = Shape::Ring {
            centre,
            radius: s * 0.085 * rng.range(0.95, 1.05),
            half_width: s * 0.035 * rng.range(0.95, 1.05),
        };
        shadow(&mut canvas, &ring, P(s * 0.006, s * 0.01), s * 0.015);
        material(&mut canvas, &ring, colour, &texture, 0.05, s * 0.02);
        // Ridges across the tube, as on real macaroni.
        let stripes = Noise::new(rng, 1.5);
        canvas.fill_with(&ring, 1.0, 0.15, |p| {
            let v = 0.5 + 0.5 * stripes.at(p);
            colour.map(|c| c * (0.8 + 0.2 * v))
        });
        footprint.push(ring);
        let d = rng.direction();
        let reach = s * 0.12;
        anchors.extend([
            centre.add(P(d.0, d.1).scale(reach)),
            centre.sub(P(d.0, d.1).scale(reach)),
        ]);
    }
    Scene {
        canvas,
        base,
        footprint,
        anchors,
    }
}

/// One kidney-shaped nut: circles along an arc, thickest in the middle.
fn cashew(size: usize, rng: &mut Rng) -> Scene {
    let s = size as f32;
    let mut canvas = background(rng, size, [0.88, 0.87, 0.84], 0.03);
    let base = canvas.clone();
    let place = Place {
        centre: P(
            s * (0.5 + rng.range(-0.03, 0.03)),
            s * (0.5 + rng.range(-0.03, 0.03)),
        ),
        rotation: rng.rotation(0.35),
        scale: s * rng.range(0.97, 1.03),
    };
    // Nine circles 18.75° apart on an arc of radius 0.2 (cos, sin literal).
    let step = (0.946_930_1, 0.321_439_46);
    let mut spoke = P(0.2, 0.0).rotate((0.267_238_38, -0.963_630_5)); // −75°
    let mut footprint = Vec::new();
    let mut anchors = Vec::new();
    for i in 0..9 {
        let t = (i as f32 - 4.0) / 4.0;
        let radius = 0.085 * (0.7 + 0.3 * (1.0 - t * t)) * rng.range(0.98, 1.02);
        footprint.push(place.shape(&Shape::Circle {
            centre: spoke.sub(P(0.2, 0.0)),
            radius,
        }));
        let outward = spoke.scale(1.0 / 0.2);
        anchors.push(place.point(spoke.sub(P(0.2, 0.0)).add(outward.scale(radius * 0.9))));
        spoke = spoke.rotate(step);
    }
    let texture = Noise::new(rng, 3.0);
    let colour = vary(rng, [0.86, 0.7, 0.48], 0.05);
    let shadow_colour = [0.0, 0.0, 0.0];
    let offset = P(s * 0.01, s * 0.014);
    for circle in &footprint {
        let moved = Place {
            centre: offset,
            rotation: NO_TURN,
            scale: 1.0,
        }
        .shape(circle);
        canvas.fill_with(&moved, s * 0.03, 0.2, |_| shadow_colour);
    }
    let nut = footprint.clone();
    let rim = s * 0.04;
    let mottle = Noise::new(rng, s * 0.05);
    let (x0, y0, x1, y1) = nut
        .iter()
        .map(Shape::bounds)
        .fold((f32::MAX, f32::MAX, f32::MIN, f32::MIN), |a, b| {
            (a.0.min(b.0), a.1.min(b.1), a.2.max(b.2), a.3.max(b.3))
        });
    let (x0, y0, x1, y1) = canvas.span((x0, y0, x1, y1));
    for y in y0..y1 {
        for x in x0..x1 {
            let p = P(x as f32 + 0.5, y as f32 + 0.5);
            let d = union_distance(&nut, p);
            let a = (0.5 - d).clamp(0.0, 1.0);
            if a > 0.0 {
                let depth = (-d / rim).clamp(0.0, 1.0);
                let g = (0.75 + 0.25 * depth) * (1.0 + 0.05 * texture.at(p) + 0.06 * mottle.at(p));
                canvas.blend(x, y, colour.map(|c| c * g), a);
            }
        }
    }
    Scene {
        canvas,
        base,
        footprint,
        anchors,
    }
}

/// One wheel-shaped snack: a rim with bumps, spokes and a hub.
fn fryum(size: usize, rng: &mut Rng) -> Scene {
    let s = size as f32;
    let mut canvas = background(rng, size, [0.9, 0.9, 0.88], 0.03);
    let base = canvas.clone();
    let place = Place {
        centre: P(
            s * (0.5 + rng.range(-0.02, 0.02)),
            s * (0.5 + rng.range(-0.02, 0.02)),
        ),
        rotation: rng.rotation(0.1),
        scale: s * rng.range(0.97, 1.03),
    };
    // Eight spokes 45° apart (cos 45° = sin 45° = √½).
    let step = (
        std::f32::consts::FRAC_1_SQRT_2,
        std::f32::consts::FRAC_1_SQRT_2,
    );
    let mut local = vec![
        Shape::Ring {
            centre: P(0.0, 0.0),
            radius: 0.26,
            half_width: 0.045,
        },
        Shape::Circle {
            centre: P(0.0, 0.0),
            radius: 0.07,
        },
    ];
    let mut anchors = Vec::new();
    let mut spoke = P(1.0, 0.0);
    for _ in 0..8 {
        local.push(Shape::Capsule {
            a: spoke.scale(0.06),
            b: spoke.scale(0.24),
            radius: 0.022,
        });
        local.push(Shape::Circle {
            centre: spoke.scale(0.3),
            radius: 0.045,
        });
        anchors.push(place.point(spoke.scale(0.32)));
        let half_step = P(spoke.0, spoke.1).rotate((0.923_879_5, 0.382_683_43));
        anchors.push(place.point(half_step.scale(0.15)));
        spoke = spoke.rotate(step);
    }
    let footprint: Vec<Shape> = local.iter().map(|shape| place.shape(shape)).collect();
    let texture = Noise::new(rng, 2.5);
    let colour = vary(rng, [0.95, 0.72, 0.3], 0.05);
    for shape in &footprint {
        shadow(&mut canvas, shape, P(s * 0.006, s * 0.01), s * 0.015);
    }
    for shape in &footprint {
        material(&mut canvas, shape, colour, &texture, 0.06, s * 0.012);
    }
    Scene {
        canvas,
        base,
        footprint,
        anchors,
    }
}
