//! The generator's random stream: ChaCha8, whose output is specified, turned
//! into numbers with integer and IEEE-exact arithmetic only (no `sin`, `exp`
//! or `ln`, whose results differ between math libraries), so one seed gives
//! the same bytes on every machine.
//!
//! The augmentations ([`crate::augment`]) draw from this stream too, so a
//! training run has one kind of seeded randomness; it is public for them.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded stream of numbers.
#[derive(Debug, Clone)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// The stream for one purpose (`stream`) of a data set's `seed`: each
    /// image draws from its own stream, so images do not depend on the order
    /// or number of the others.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Rng(rng)
    }

    /// Uniform in [0, 1), 24 random bits.
    pub fn unit(&mut self) -> f32 {
        (self.0.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
    }

    /// Uniform in [low, high).
    pub fn range(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit()
    }

    /// Uniform integer in [low, high]; `high >= low`.
    pub fn int(&mut self, low: u32, high: u32) -> u32 {
        let span = u64::from(high - low) + 1;
        low + ((u64::from(self.0.next_u32()) * span) >> 32) as u32
    }

    /// Picks one element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.int(0, items.len() as u32 - 1) as usize]
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }

    /// Approximately normal with mean 0 and standard deviation 1: the sum of
    /// four uniforms (Irwin–Hall), scaled.
    pub fn normal(&mut self) -> f32 {
        let sum = self.unit() + self.unit() + self.unit() + self.unit();
        (sum - 2.0) * 1.732_050_8
    }

    /// A rotation as a unit vector (cos, sin) with angle in about
    /// [−max, max] radians (max ≤ π/2), from the rational parametrisation
    /// t = tan(θ/2): cos θ = (1 − t²)/(1 + t²), sin θ = 2t/(1 + t²).
    pub fn rotation(&mut self, max: f32) -> (f32, f32) {
        // tan(θ/2) ≈ θ/2 (1 + θ²/12), good to 1% up to π/2.
        let half = max / 2.0;
        let limit = half * (1.0 + half * half / 3.0);
        let t = self.range(-limit, limit);
        let d = 1.0 + t * t;
        ((1.0 - t * t) / d, 2.0 * t / d)
    }

    /// A uniformly random direction (any angle).
    pub fn direction(&mut self) -> (f32, f32) {
        loop {
            let (x, y) = (self.range(-1.0, 1.0), self.range(-1.0, 1.0));
            let length = (x * x + y * y).sqrt();
            if length > 0.1 && length <= 1.0 {
                return (x / length, y / length);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let draw = |seed, stream| {
            let mut rng = Rng::new(seed, stream);
            (0..4).map(|_| rng.int(0, 1_000_000)).collect::<Vec<_>>()
        };
        assert_eq!(draw(1, 2), draw(1, 2));
        assert_ne!(draw(1, 2), draw(1, 3));
        assert_ne!(draw(1, 2), draw(2, 2));
    }

    #[test]
    fn numbers_stay_in_range() {
        let mut rng = Rng::new(7, 0);
        for _ in 0..10_000 {
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(rng.int(3, 5) >= 3 && rng.int(3, 5) <= 5);
            let (c, s) = rng.rotation(0.5);
            assert!((c * c + s * s - 1.0).abs() < 1e-5);
            // cos 0.5 = 0.8776 (hand value): |θ| ≤ 0.5 within 1%.
            assert!(c > 0.87);
        }
    }
}
