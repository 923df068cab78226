//! Gaussian smoothing of anomaly maps as PaDiM's reference code does it:
//! `scipy.ndimage.gaussian_filter(map, sigma=4)`.
//!
//! That means: a separable filter (rows, then columns) whose 1-D kernel is
//! `exp(-x² / 2σ²)` for integer `x` in `-r..=r`, normalised to sum 1, with
//! radius `r = floor(4σ + 0.5)` (scipy's `truncate=4.0`: r = 16 for σ = 4), and
//! scipy's default border mode `'reflect'`, the half-sample symmetric
//! extension `d c b a | a b c d | d c b a`, repeated for kernels wider than
//! the map. anomalib instead uses kornia with a kernel of size 33 and
//! PyTorch's whole-sample `'reflect'` padding (`c b | a b c d | c b`), which
//! differs only within 16 pixels of the border; we follow the reference.

use super::{MapSize, PadimError, ScoreMap};

/// PaDiM's smoothing standard deviation in pixels of the input image.
pub const PADIM_SIGMA: f64 = 4.0;

/// A separable Gaussian filter with scipy's kernel and border rules.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianFilter {
    sigma: f64,
    kernel: Vec<f64>,
}

impl GaussianFilter {
    /// The filter of standard deviation `sigma` pixels, truncated at 4σ.
    pub fn new(sigma: f64) -> Result<Self, PadimError> {
        // The cap keeps the kernel (8σ + 1 taps) small; far below it a map of
        // any real image size is already smoothed to a constant.
        if !(sigma.is_finite() && sigma > 0.0 && sigma <= 1e4) {
            return Err(PadimError::InvalidSigma(sigma));
        }
        let radius = (4.0 * sigma + 0.5) as usize;
        let mut kernel: Vec<f64> = (0..=2 * radius)
            .map(|i| {
                let x = i as f64 - radius as f64;
                (-0.5 * x * x / (sigma * sigma)).exp()
            })
            .collect();
        let sum: f64 = kernel.iter().sum();
        kernel.iter_mut().for_each(|w| *w /= sum);
        Ok(Self { sigma, kernel })
    }

    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The kernel radius in pixels (16 for σ = 4).
    pub fn radius(&self) -> usize {
        self.kernel.len() / 2
    }

    /// Smooths `map`, keeping its size.
    pub fn apply(&self, map: &ScoreMap) -> ScoreMap {
        let MapSize { height, width } = map.size();
        let radius = self.radius();
        // Along rows: each row extended by `radius` reflected values on both
        // sides, then one multiply-add pass per kernel tap, which vectorises
        // (a dot product per output would not, its sum being sequential).
        let mut horizontal = vec![0.0f64; height * width];
        let mut extended = vec![0.0f64; width + 2 * radius];
        for (row, out) in map
            .values()
            .chunks_exact(width)
            .zip(horizontal.chunks_exact_mut(width))
        {
            for (i, e) in extended.iter_mut().enumerate() {
                *e = f64::from(row[reflect(i as i64 - radius as i64, width)]);
            }
            for (k, &w) in self.kernel.iter().enumerate() {
                for (o, &v) in out.iter_mut().zip(&extended[k..k + width]) {
                    *o += w * v;
                }
            }
        }
        // Along columns: whole rows at a time, so memory is read in order.
        let mut out = vec![0.0f64; height * width];
        for (y, out_row) in out.chunks_exact_mut(width).enumerate() {
            for (k, &w) in self.kernel.iter().enumerate() {
                let source = reflect(y as i64 + k as i64 - radius as i64, height);
                for (o, &v) in out_row
                    .iter_mut()
                    .zip(&horizontal[source * width..][..width])
                {
                    *o += w * v;
                }
            }
        }
        ScoreMap::from_parts(map.size(), out.into_iter().map(|v| v as f32).collect())
    }
}

/// scipy's `'reflect'` mode: index `i` of the infinite half-sample
/// symmetric extension of a line of length `n > 0`, which has period `2n`.
fn reflect(i: i64, n: usize) -> usize {
    let period = 2 * n as i64;
    let m = i.rem_euclid(period) as usize;
    if m < n {
        m
    } else {
        2 * n - 1 - m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radius_follows_scipy_truncation() {
        assert_eq!(GaussianFilter::new(4.0).unwrap().radius(), 16);
        assert_eq!(GaussianFilter::new(1.0).unwrap().radius(), 4);
        assert_eq!(GaussianFilter::new(0.1).unwrap().radius(), 0);
        assert_eq!(GaussianFilter::new(0.0), Err(PadimError::InvalidSigma(0.0)));
        assert!(GaussianFilter::new(f64::NAN).is_err());
    }

    #[test]
    fn reflect_is_half_sample_symmetric_and_periodic() {
        // d c b a | a b c d | d c b a | a b ...
        let got: Vec<usize> = (-4..10).map(|i| reflect(i, 4)).collect();
        assert_eq!(got, [3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1]);
        assert!((-40..40).all(|i| reflect(i, 1) == 0));
    }

    #[test]
    fn constant_maps_stay_constant_and_mass_is_kept_far_from_borders() {
        let filter = GaussianFilter::new(4.0).unwrap();
        let flat = ScoreMap::new(MapSize::new(5, 3), vec![2.5; 15]).unwrap();
        for v in filter.apply(&flat).values() {
            assert!((v - 2.5).abs() < 1e-6);
        }
        let mut impulse = vec![0.0; 41 * 41];
        impulse[20 * 41 + 20] = 1.0;
        let map = ScoreMap::new(MapSize::new(41, 41), impulse).unwrap();
        let total: f32 = filter.apply(&map).values().iter().sum();
        assert!((total - 1.0).abs() < 1e-6);
    }
}
