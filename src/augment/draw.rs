//! The few distributions the augmentations draw from, on top of the shared
//! [`Rng`]. Settings are f64 (so a config's `0.005` means exactly what it
//! says); the stream's 24-bit uniforms are ample resolution for them.

use crate::rng::Rng;

/// Uniform in [low, high).
pub(crate) fn uniform(rng: &mut Rng, [low, high]: [f64; 2]) -> f64 {
    low + (high - low) * f64::from(rng.unit())
}

/// Log-uniform in [low, high), `0 < low <= high`: as torchvision draws aspect
/// ratios, so that a ratio and its inverse are equally likely.
pub(crate) fn log_uniform(rng: &mut Rng, [low, high]: [f64; 2]) -> f64 {
    uniform(rng, [low.ln(), high.ln()]).exp()
}

/// True with probability `p` (never for 0, always for 1).
pub(crate) fn chance(rng: &mut Rng, p: f64) -> bool {
    f64::from(rng.unit()) < p
}

/// A uniformly random permutation of `0..N` (Fisher–Yates), as
/// `torch.randperm` gives ColorJitter its order.
pub(crate) fn permutation<const N: usize>(rng: &mut Rng) -> [usize; N] {
    let mut order: [usize; N] = std::array::from_fn(|i| i);
    for i in (1..N).rev() {
        let j = rng.int(0, i as u32) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_their_ranges() {
        let mut rng = Rng::new(3, 0);
        let mut seen = [[0u32; 4]; 4];
        for _ in 0..4000 {
            let u = uniform(&mut rng, [0.9, 1.1]);
            assert!((0.9..1.1).contains(&u));
            let r = log_uniform(&mut rng, [0.3, 3.0]);
            assert!((0.3 - 1e-12..3.0 + 1e-12).contains(&r));
            assert!(!chance(&mut rng, 0.0) && chance(&mut rng, 1.0));
            let order = permutation::<4>(&mut rng);
            let mut sorted = order;
            sorted.sort();
            assert_eq!(sorted, [0, 1, 2, 3]);
            for (position, &op) in order.iter().enumerate() {
                seen[position][op] += 1;
            }
        }
        // Every op lands in every position about 1000 times in 4000.
        for counts in seen {
            for count in counts {
                assert!((850..1150).contains(&count), "{seen:?}");
            }
        }
    }
}
