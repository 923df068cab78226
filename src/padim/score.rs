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

use super::cholesky::squared_norms_of_solve;
use super::parallel::{map_ranges, try_map_in_order};
use super::resize::resize_bilinear;
use super::smooth::{GaussianFilter, PADIM_SIGMA};
use super::{FeatureMap, PadimError, PadimStats, ScoreMap};

impl PadimStats {
    /// The Mahalanobis distance of every layer-1 grid position of one image,
    /// given its feature maps (layer1, layer2, layer3), computed in f64.
    pub fn distance_map(&self, layers: &[FeatureMap<'_>]) -> Result<ScoreMap, PadimError> {
        let [map] = self
            .distance_maps(&[layers])?
            .try_into()
            .unwrap_or_else(|_| unreachable!("one image in, one map out"));
        Ok(map)
    }

    /// [`PadimStats::distance_map`] of several images, each position's
    /// Gaussian read once for all of them (the same numbers as one by one).
    pub fn distance_maps(&self, images: &[&[FeatureMap<'_>]]) -> Result<Vec<ScoreMap>, PadimError> {
        let embeddings = images
            .iter()
            .map(|layers| {
                let embedding = self.selection().embed(layers)?;
                if embedding.grid() != self.grid() {
                    return Err(PadimError::GridMismatch {
                        expected: self.grid(),
                        got: embedding.grid(),
                    });
                }
                Ok(embedding)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (d, count) = (self.d(), embeddings.len());
        let positions = self.grid().height * self.grid().width;
        // Position by position, each image's distance: `[position][image]`.
        let chunks = map_ranges(positions, |range| {
            let mut deltas = vec![0.0f64; d * count];
            let mut totals = vec![0.0f64; count];
            let mut distances = Vec::with_capacity(range.len() * count);
            for position in range {
                let mean = self.mean_at(position);
                for (b, embedding) in embeddings.iter().enumerate() {
                    let components = embedding.at(position).iter().zip(mean);
                    for (delta, (&x, &m)) in deltas[b..].iter_mut().step_by(count).zip(components) {
                        *delta = f64::from(x) - f64::from(m);
                    }
                }
                squared_norms_of_solve(self.factor_at(position), &mut deltas, &mut totals);
                distances.extend(totals.iter().map(|total| total.sqrt() as f32));
            }
            distances
        });
        let distances = chunks.concat();
        Ok((0..count)
            .map(|b| {
                let map = distances
                    .iter()
                    .skip(b)
                    .step_by(count.max(1))
                    .copied()
                    .collect();
                ScoreMap::from_parts(self.grid(), map)
            })
            .collect())
    }

    /// PaDiM's anomaly map of one image at the input size: the distance map,
    /// upsampled bilinearly (`align_corners=False`) and smoothed with σ = 4.
    /// Its [`ScoreMap::max`] is the image's anomaly score.
    pub fn anomaly_map(&self, layers: &[FeatureMap<'_>]) -> Result<ScoreMap, PadimError> {
        let [map] = self
            .anomaly_maps(&[layers])?
            .try_into()
            .unwrap_or_else(|_| unreachable!("one image in, one map out"));
        Ok(map)
    }

    /// [`PadimStats::anomaly_map`] of several images (the same numbers as
    /// one by one, fewer reads of the statistics).
    pub fn anomaly_maps(&self, images: &[&[FeatureMap<'_>]]) -> Result<Vec<ScoreMap>, PadimError> {
        let smoothing = GaussianFilter::new(PADIM_SIGMA)?;
        let distances = self.distance_maps(images)?;
        try_map_in_order(&distances, |distances| {
            Ok(smoothing.apply(&resize_bilinear(distances, self.input())?))
        })
    }
}
