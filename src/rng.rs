//! The crate's one seeded random stream: ChaCha8, whose output is specified,
//! turned into numbers with integer and IEEE-exact arithmetic only (no `sin`,
//! `exp` or `ln`, whose results differ between math libraries), so one seed
//! gives the same numbers on every machine, wasm included.
//!
//! The procedural data set ([`crate::data::synth`]), the augmentations
//! ([`crate::augment`]) and PaDiM's channel subset
//! ([`crate::padim::ChannelSelection`]) all draw from it.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded stream of numbers.
#[derive(Debug, Clone)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// The stream for one purpose (`stream`) of a `seed`: each image draws
    /// from its own stream, so images do not depend on the order or number
    /// of the others.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Rng(rng)
    }

    /// The stream whose ChaCha8 key is `seed` as 8 little-endian bytes
    /// followed by 24 zero bytes. [`Rng::new`] instead expands the seed into
    /// a key; PaDiM's channel subsets were drawn from this keying first, and
    /// changing it would change every subset a seed names.
    pub fn from_key(seed: u64) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        Rng(ChaCha8Rng::from_seed(key))
    }

    /// Uniform in [0, 1), 24 random bits.
    pub fn unit(&mut self) -> f32 {
        (self.0.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
    }

    /// Uniform in [low, high).
    pub fn range(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit()
    }

    /// Uniform integer in [low, high]; `high >= low`. Multiply-and-shift of
    /// 32 random bits: a bias below 2^-32 · span, fine for pixels and views.
    pub fn int(&mut self, low: u32, high: u32) -> u32 {
        let span = u64::from(high - low) + 1;
        low + ((u64::from(self.0.next_u32()) * span) >> 32) as u32
    }

    /// Uniform integer in `0..n` (`n > 0`), exactly unbiased, by Lemire's
    /// multiply-and-reject on 64 random bits ("Fast random integer
    /// generation in an interval", 2019), independent of any library's
    /// distribution code, so the draw is stable.
    pub fn below(&mut self, n: u64) -> u64 {
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.0.next_u64()) * u128::from(n);
            if product as u64 >= threshold {
                return (product >> 64) as u64;
            }
        }
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
    fn keyed_stream_uses_the_seed_bytes_as_the_key() {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
        let mut reference = ChaCha8Rng::from_seed(key);
        let mut rng = Rng::from_key(0x0102_0304_0506_0708);
        for _ in 0..4 {
            assert_eq!(rng.0.next_u64(), reference.next_u64());
        }
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

    #[test]
    fn bounded_draw_covers_the_interval() {
        let mut rng = Rng::from_key(0);
        let mut counts = [0u32; 3];
        for _ in 0..3000 {
            counts[rng.below(3) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (900..1100).contains(&c)),
            "{counts:?}"
        );
    }
}
