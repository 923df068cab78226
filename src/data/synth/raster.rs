//! A float RGB canvas and the few shapes the scenes are drawn with, each as a
//! signed distance (negative inside, in pixels) so edges are antialiased by
//! coverage and defects can ask whether a point lies on an object.

use crate::rng::Rng;

pub type Colour = [f32; 3];

/// A 2-D point or vector in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct P(pub f32, pub f32);

impl P {
    pub fn add(self, o: P) -> P {
        P(self.0 + o.0, self.1 + o.1)
    }
    pub fn sub(self, o: P) -> P {
        P(self.0 - o.0, self.1 - o.1)
    }
    pub fn scale(self, k: f32) -> P {
        P(self.0 * k, self.1 * k)
    }
    pub fn dot(self, o: P) -> f32 {
        self.0 * o.0 + self.1 * o.1
    }
    pub fn length(self) -> f32 {
        self.dot(self).sqrt()
    }
    /// Rotates by the unit vector (cos, sin).
    pub fn rotate(self, (c, s): (f32, f32)) -> P {
        P(c * self.0 - s * self.1, s * self.0 + c * self.1)
    }
}

/// A shape with a signed distance.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Circle {
        centre: P,
        radius: f32,
    },
    /// A segment thickened by `radius`: capsules, traces, scratches.
    Capsule {
        a: P,
        b: P,
        radius: f32,
    },
    /// A rectangle of half-size `half` rotated by `rotation`, corners rounded.
    Rect {
        centre: P,
        half: P,
        rotation: (f32, f32),
        round: f32,
    },
    /// A ring of mid-radius `radius` and half-thickness `half_width`.
    Ring {
        centre: P,
        radius: f32,
        half_width: f32,
    },
    /// An axis-aligned ellipse after rotation (approximate distance).
    Ellipse {
        centre: P,
        radii: P,
        rotation: (f32, f32),
    },
}

impl Shape {
    /// Signed distance from `p` to the outline, negative inside.
    pub fn distance(&self, p: P) -> f32 {
        match *self {
            Shape::Circle { centre, radius } => p.sub(centre).length() - radius,
            Shape::Capsule { a, b, radius } => {
                let (pa, ba) = (p.sub(a), b.sub(a));
                let h = (pa.dot(ba) / ba.dot(ba).max(1e-6)).clamp(0.0, 1.0);
                pa.sub(ba.scale(h)).length() - radius
            }
            Shape::Rect {
                centre,
                half,
                rotation: (c, s),
                round,
            } => {
                let q = p.sub(centre).rotate((c, -s));
                let d = P(q.0.abs() - half.0 + round, q.1.abs() - half.1 + round);
                let outside = P(d.0.max(0.0), d.1.max(0.0)).length();
                outside + d.0.max(d.1).min(0.0) - round
            }
            Shape::Ring {
                centre,
                radius,
                half_width,
            } => (p.sub(centre).length() - radius).abs() - half_width,
            Shape::Ellipse {
                centre,
                radii,
                rotation: (c, s),
            } => {
                let q = p.sub(centre).rotate((c, -s));
                let k = P(q.0 / radii.0, q.1 / radii.1).length();
                (k - 1.0) * radii.0.min(radii.1)
            }
        }
    }

    /// A box (x0, y0, x1, y1) holding the shape.
    pub fn bounds(&self) -> (f32, f32, f32, f32) {
        let around = |c: P, r: f32| (c.0 - r, c.1 - r, c.0 + r, c.1 + r);
        match *self {
            Shape::Circle { centre, radius } => around(centre, radius),
            Shape::Capsule { a, b, radius } => (
                a.0.min(b.0) - radius,
                a.1.min(b.1) - radius,
                a.0.max(b.0) + radius,
                a.1.max(b.1) + radius,
            ),
            Shape::Rect { centre, half, .. } => around(centre, half.length()),
            Shape::Ring {
                centre,
                radius,
                half_width,
            } => around(centre, radius + half_width),
            Shape::Ellipse { centre, radii, .. } => around(centre, radii.0.max(radii.1)),
        }
    }
}

/// Distance to the nearest of several shapes (their union).
pub fn union_distance(shapes: &[Shape], p: P) -> f32 {
    shapes
        .iter()
        .map(|s| s.distance(p))
        .fold(f32::INFINITY, f32::min)
}

/// Coverage of a pixel by a shape edge at signed distance `d`, with an edge
/// `soft` pixels wide (1 = antialiased, larger = blurred).
pub fn coverage(d: f32, soft: f32) -> f32 {
    (0.5 - d / soft).clamp(0.0, 1.0)
}

/// An RGB image in [0, 1] (values may leave the range until quantised).
#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<f32>,
}

impl Canvas {
    pub fn new(width: usize, height: usize, colour: Colour) -> Self {
        Canvas {
            width,
            height,
            rgb: colour.repeat(width * height),
        }
    }

    pub fn get(&self, x: usize, y: usize) -> Colour {
        let i = 3 * (y * self.width + x);
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The colour at a point, clamped to the canvas.
    pub fn at(&self, p: P) -> Colour {
        let x = (p.0.max(0.0) as usize).min(self.width - 1);
        let y = (p.1.max(0.0) as usize).min(self.height - 1);
        self.get(x, y)
    }

    pub fn blend(&mut self, x: usize, y: usize, colour: Colour, alpha: f32) {
        let i = 3 * (y * self.width + x);
        for (value, target) in self.rgb[i..i + 3].iter_mut().zip(colour) {
            *value += (target - *value) * alpha;
        }
    }

    /// The pixel range covering a box, clipped to the canvas.
    pub fn span(&self, (x0, y0, x1, y1): (f32, f32, f32, f32)) -> (usize, usize, usize, usize) {
        let clip = |v: f32, max: usize| (v.max(0.0) as usize).min(max);
        (
            clip(x0 - 2.0, self.width),
            clip(y0 - 2.0, self.height),
            clip(x1 + 3.0, self.width),
            clip(y1 + 3.0, self.height),
        )
    }

    /// Paints `shape` with a colour that may vary by pixel, with `alpha` and
    /// an edge `soft` pixels wide.
    pub fn fill_with(
        &mut self,
        shape: &Shape,
        soft: f32,
        alpha: f32,
        mut colour: impl FnMut(P) -> Colour,
    ) {
        let (x0, y0, x1, y1) = self.span(shape.bounds());
        for y in y0..y1 {
            for x in x0..x1 {
                let p = P(x as f32 + 0.5, y as f32 + 0.5);
                let a = coverage(shape.distance(p), soft) * alpha;
                if a > 0.0 {
                    let c = colour(p);
                    self.blend(x, y, c, a);
                }
            }
        }
    }

    pub fn fill(&mut self, shape: &Shape, colour: Colour) {
        self.fill_with(shape, 1.0, 1.0, |_| colour);
    }

    /// Rounds to 8-bit RGB.
    pub fn to_rgb8(&self) -> Vec<u8> {
        self.rgb
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8)
            .collect()
    }
}

/// Smooth value noise in about [−1, 1] with features `scale` pixels wide:
/// random values on an integer lattice, hashed from the coordinates, blended
/// with a smoothstep. Two octaves.
#[derive(Debug, Clone, Copy)]
pub struct Noise {
    key: u32,
    scale: f32,
}

impl Noise {
    pub fn new(rng: &mut Rng, scale: f32) -> Self {
        Noise {
            key: rng.int(0, u32::MAX - 1),
            scale,
        }
    }

    fn lattice(&self, x: i32, y: i32) -> f32 {
        // A 32-bit integer hash (lowbias32) of the lattice point and key.
        let mut h =
            (x as u32).wrapping_mul(0x8da6_b343) ^ (y as u32).wrapping_mul(0xd816_3841) ^ self.key;
        h ^= h >> 16;
        h = h.wrapping_mul(0x7feb_352d);
        h ^= h >> 15;
        h = h.wrapping_mul(0x846c_a68b);
        h ^= h >> 16;
        (h >> 8) as f32 * (2.0 / 16_777_216.0) - 1.0
    }

    fn octave(&self, x: f32, y: f32) -> f32 {
        let (fx, fy) = (x.floor(), y.floor());
        let (ix, iy) = (fx as i32, fy as i32);
        let smooth = |t: f32| t * t * (3.0 - 2.0 * t);
        let (tx, ty) = (smooth(x - fx), smooth(y - fy));
        let top = self.lattice(ix, iy) + (self.lattice(ix + 1, iy) - self.lattice(ix, iy)) * tx;
        let bottom = self.lattice(ix, iy + 1)
            + (self.lattice(ix + 1, iy + 1) - self.lattice(ix, iy + 1)) * tx;
        top + (bottom - top) * ty
    }

    pub fn at(&self, p: P) -> f32 {
        let (x, y) = (p.0 / self.scale, p.1 / self.scale);
        0.67 * self.octave(x, y) + 0.33 * self.octave(2.0 * x + 17.0, 2.0 * y + 31.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_by_hand() {
        let circle = Shape::Circle {
            centre: P(10.0, 10.0),
            radius: 3.0,
        };
        assert_eq!(circle.distance(P(10.0, 15.0)), 2.0);
        assert_eq!(circle.distance(P(10.0, 10.0)), -3.0);
        // A 4x2 rectangle (half 2, 1) rotated 90°: it spans x ±1, y ±2.
        let rect = Shape::Rect {
            centre: P(0.0, 0.0),
            half: P(2.0, 1.0),
            rotation: (0.0, 1.0),
            round: 0.0,
        };
        assert_eq!(rect.distance(P(3.0, 0.0)), 2.0);
        assert_eq!(rect.distance(P(0.0, 3.0)), 1.0);
        let ring = Shape::Ring {
            centre: P(0.0, 0.0),
            radius: 5.0,
            half_width: 1.0,
        };
        assert_eq!(ring.distance(P(0.0, 0.0)), 4.0);
        assert_eq!(ring.distance(P(5.0, 0.0)), -1.0);
        let capsule = Shape::Capsule {
            a: P(0.0, 0.0),
            b: P(10.0, 0.0),
            radius: 2.0,
        };
        assert_eq!(capsule.distance(P(5.0, 3.0)), 1.0);
        assert_eq!(capsule.distance(P(13.0, 0.0)), 1.0);
    }

    #[test]
    fn noise_is_bounded_and_continuous() {
        let noise = Noise::new(&mut Rng::new(1, 1), 8.0);
        for i in 0..1000 {
            let p = P(i as f32 * 0.37, i as f32 * 0.11);
            let v = noise.at(p);
            assert!((-1.0..=1.0).contains(&v));
            assert!((noise.at(P(p.0 + 0.01, p.1)) - v).abs() < 0.01);
        }
    }
}
