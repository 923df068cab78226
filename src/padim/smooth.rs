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
        // Beyond 1e6 px the kernel would not fit in memory anyway.
        if !(sigma.is_finite() && sigma > 0.0 && sigma <= 1e6) {
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
        let mut rows: Vec<f64> = map.values().iter().map(|&v| f64::from(v)).collect();
        let mut line = Vec::new();
        let mut out = Vec::new();
        for y in 0..height {
            line.clear();
            line.extend_from_slice(&rows[y * width..][..width]);
            self.filter_line(&line, &mut out);
            rows[y * width..][..width].copy_from_slice(&out);
        }
        for x in 0..width {
            line.clear();
            line.extend((0..height).map(|y| rows[y * width + x]));
            self.filter_line(&line, &mut out);
            for (y, &v) in out.iter().enumerate() {
                rows[y * width + x] = v;
            }
        }
        let values = rows.into_iter().map(|v| v as f32).collect();
        ScoreMap::from_parts(map.size(), values)
    }

    fn filter_line(&self, line: &[f64], out: &mut Vec<f64>) {
        let n = line.len();
        let radius = self.radius();
        // The line extended by `radius` on each side, so the inner loop is a
        // plain dot product.
        let extended: Vec<f64> = (0..n + 2 * radius)
            .map(|i| line[reflect(i as i64 - radius as i64, n)])
            .collect();
        out.clear();
        out.extend((0..n).map(|i| {
            extended[i..i + self.kernel.len()]
                .iter()
                .zip(&self.kernel)
                .map(|(v, w)| v * w)
                .sum::<f64>()
        }));
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
