//! PaDiM's anomaly map (Defard et al. 2021, Eq. 2 and section 3): the
//! Mahalanobis distance `M(x) = sqrt((x - μ)ᵀ Σ⁻¹ (x - μ))` (not squared) of
//! each position's embedding to that position's Gaussian, upsampled
//! bilinearly to the input size and smoothed by a Gaussian of σ = 4; the
//! image score is the map's maximum.
//!
//! The reference code then min-max normalises all test maps by the extremes
//! over the whole test set. That is one increasing affine map shared by every
//! image, so it changes no ranking metric, and it would make an image's score
//! depend on the other test images: we leave maps unnormalised.

use super::cholesky::squared_norm_of_solve;
use super::parallel::map_ranges;
use super::resize::resize_bilinear;
use super::smooth::{GaussianFilter, PADIM_SIGMA};
use super::{FeatureMap, PadimError, PadimStats, ScoreMap};

impl PadimStats {
    /// The Mahalanobis distance of every layer-1 grid position of one image,
    /// given its feature maps (layer1, layer2, layer3), computed in f64.
    pub fn distance_map(&self, layers: &[FeatureMap<'_>]) -> Result<ScoreMap, PadimError> {
        let embedding = self.selection().embed(layers)?;
        if embedding.grid() != self.grid() {
            return Err(PadimError::GridMismatch {
                expected: self.grid(),
                got: embedding.grid(),
            });
        }
        let d = self.d();
        let positions = self.grid().height * self.grid().width;
        let chunks = map_ranges(positions, |range| {
            let mut delta = vec![0.0f64; d];
            range
                .map(|position| {
                    let x = embedding.at(position);
                    for ((t, &x), &m) in delta.iter_mut().zip(x).zip(self.mean_at(position)) {
                        *t = f64::from(x) - f64::from(m);
                    }
                    squared_norm_of_solve(self.factor_at(position), &mut delta).sqrt() as f32
                })
                .collect::<Vec<f32>>()
        });
        Ok(ScoreMap::from_parts(self.grid(), chunks.concat()))
    }

    /// PaDiM's anomaly map of one image at the input size: the distance map,
    /// upsampled bilinearly (`align_corners=False`) and smoothed with σ = 4.
    /// Its [`ScoreMap::max`] is the image's anomaly score.
    pub fn anomaly_map(&self, layers: &[FeatureMap<'_>]) -> Result<ScoreMap, PadimError> {
        let distances = self.distance_map(layers)?;
        let upsampled = resize_bilinear(&distances, self.input())?;
        Ok(GaussianFilter::new(PADIM_SIGMA)?.apply(&upsampled))
    }
}
