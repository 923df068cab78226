//! The percentile bootstrap over test images (issue 18): which images each
//! resample draws, the metrics of a resample computed from the multiplicity
//! of each image without copying a pixel, and the 95% interval.
//!
//! **Resampling.** Each resample draws, with replacement, as many normal
//! images from the normal ones and as many anomalous images from the
//! anomalous ones as the test set has (a bootstrap stratified by label, so
//! every resample has both labels and the same anomaly rate, the base line
//! AU-PR is measured against). An image drawn k times counts k times, with
//! all its pixels: segmentation resamples images, not pixels.
//!
//! **The stream** (reproduced by `tests/fixtures/make_bootstrap_fixtures.py`):
//! [`crate::rng::Rng::new`]`(seed, stream_of(class))` — ChaCha8 keyed by
//! rand_core's `seed_from_u64(seed)` (PCG32 expansion), its 64-bit stream the
//! FNV-1a hash of the class name ([`stream_of`]). For resample 0, 1, …: the
//! normal images' draws, then the anomalous ones', each `below(count)`
//! (Lemire's unbiased multiply-and-reject on 64-bit words) indexing that
//! label's images in test order.
//!
//! **The interval** is NumPy's `percentile(values, [2.5, 97.5])` (linear
//! interpolation) of the resampled metric; a paired difference takes the same
//! percentiles of the per-resample differences of two detectors scored on
//! the same resamples.

use serde::Serialize;
use thiserror::Error;

use super::key::{radix_sort, Score};
use super::sum::CompensatedSum;
use crate::rng::Rng;

/// Fewer test images than this of either label give no interval: with four
/// anomalies a resample can take one image four times and the percentiles
/// describe the few images, not the detector.
pub const MIN_IMAGES_PER_LABEL: usize = 5;

/// The interval's coverage.
pub const CONFIDENCE: f64 = 0.95;

/// Why a class gets no bootstrap interval.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BootstrapError {
    #[error("too few test images for a bootstrap interval: {normal} normal and {anomalous} anomalous, at least {MIN_IMAGES_PER_LABEL} of each are needed")]
    TooFewImages { normal: usize, anomalous: usize },
    #[error("{weights} image weights for {images} images")]
    WeightCount { weights: usize, images: usize },
}

/// The stream of a class's resamples: the 64-bit FNV-1a hash of its name, so
/// a class draws the same resamples whichever other classes are evaluated.
pub fn stream_of(class: &str) -> u64 {
    class.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// How often each test image is drawn in each resample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resampling {
    images: usize,
    /// `resamples × images` multiplicities, one resample after another.
    counts: Vec<u32>,
}

impl Resampling {
    /// Draws `resamples` stratified resamples of images labelled `anomalous`
    /// (in test order) from the stream described in the module docs.
    pub fn draw(
        anomalous: &[bool],
        resamples: usize,
        seed: u64,
        stream: u64,
    ) -> Result<Self, BootstrapError> {
        let (positives, negatives): (Vec<usize>, Vec<usize>) =
            (0..anomalous.len()).partition(|&image| anomalous[image]);
        if negatives.len() < MIN_IMAGES_PER_LABEL || positives.len() < MIN_IMAGES_PER_LABEL {
            return Err(BootstrapError::TooFewImages {
                normal: negatives.len(),
                anomalous: positives.len(),
            });
        }
        let images = anomalous.len();
        let mut rng = Rng::new(seed, stream);
        let mut counts = vec![0u32; resamples * images];
        for resample in counts.chunks_exact_mut(images.max(1)) {
            for stratum in [&negatives, &positives] {
                for _ in 0..stratum.len() {
                    resample[stratum[rng.below(stratum.len() as u64) as usize]] += 1;
                }
            }
        }
        Ok(Self { images, counts })
    }

    pub fn resamples(&self) -> usize {
        self.counts.len() / self.images.max(1)
    }

    /// How often each image (test order) is drawn in `resample`.
    pub fn weights(&self, resample: usize) -> &[u32] {
        &self.counts[resample * self.images..(resample + 1) * self.images]
    }
}

/// AU-ROC, AU-PR and max-F1 of one resample, as fractions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResampledMetrics {
    pub auroc: f64,
    pub aupr: f64,
    pub max_f1: f64,
}

/// Scores that belong to images (an image score, or every pixel of a map),
/// sorted once so that any weighting of the images is one walk.
#[derive(Debug, Clone, Default)]
pub struct ImageScores {
    /// `key << 32 | image << 1 | anomalous`, ascending: equal scores adjacent.
    samples: Vec<u64>,
    /// Each image's (anomalous, normal) sample counts, so a weighting's
    /// totals cost one pass over the images, not the samples.
    counts: Vec<(u64, u64)>,
    images: usize,
    sorted: bool,
}

impl ImageScores {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the samples of the next image (numbered from 0 in push order);
    /// the scores are finite (the caller's [`super::ScoreSet`] checked them).
    pub fn push_image(&mut self, scores: &[f32], anomalous: &[bool]) {
        let image = (self.images as u64) << 1;
        self.samples
            .extend(scores.iter().zip(anomalous).map(|(&score, &label)| {
                let key = score.to_key().expect("scores are checked finite first");
                u64::from(key) << 32 | image | u64::from(label)
            }));
        let anomalous_count = anomalous.iter().filter(|&&a| a).count() as u64;
        self.counts
            .push((anomalous_count, anomalous.len() as u64 - anomalous_count));
        self.images += 1;
        self.sorted = false;
    }

    pub fn images(&self) -> usize {
        self.images
    }

    /// The (anomalous, normal) sample totals when image `i` counts `weights[i]` times.
    pub(crate) fn weighted_totals(&self, weights: &[u32]) -> (u64, u64) {
        self.counts
            .iter()
            .zip(weights)
            .fold((0, 0), |(p, n), (&(ip, in_), &w)| {
                (p + ip * u64::from(w), n + in_ * u64::from(w))
            })
    }

    /// Sorts the samples; done once before the resamples' walks.
    pub fn sort(&mut self) {
        if !self.sorted {
            radix_sort(&mut self.samples);
            self.sorted = true;
        }
    }

    /// Every sample (key, image, anomalous), from the highest score down.
    pub(crate) fn descending(&self) -> impl Iterator<Item = (u32, usize, bool)> + '_ {
        debug_assert!(self.sorted, "sort before walking");
        self.samples
            .iter()
            .rev()
            .map(|&s| ((s >> 32) as u32, (s as u32 >> 1) as usize, s & 1 == 1))
    }

    /// The metrics when image `i` counts `weights[i]` times: equal to
    /// [`super::binary_metrics`] over the samples repeated so, in one walk
    /// that divides only where the recall grows. The set must be sorted and
    /// the weights must give both labels a sample.
    pub fn weighted_metrics(&self, weights: &[u32]) -> Result<ResampledMetrics, BootstrapError> {
        if weights.len() != self.images {
            return Err(BootstrapError::WeightCount {
                weights: weights.len(),
                images: self.images,
            });
        }
        let (positives, negatives) = self.weighted_totals(weights);
        let (mut tp, mut fp) = (0u64, 0u64);
        let mut twice_roc_area: u128 = 0;
        let mut aupr = CompensatedSum::default();
        let (mut best_f1_numerator, mut best_f1_denominator) = (0u64, 1u64);
        let mut samples = &self.samples[..];
        while let Some(&last) = samples.last() {
            let key = last >> 32;
            let (mut step_positives, mut step_negatives) = (0u64, 0u64);
            while let Some((&sample, rest)) = samples.split_last() {
                if sample >> 32 != key {
                    break;
                }
                let weight = u64::from(weights[(sample as u32 >> 1) as usize]);
                if sample & 1 == 1 {
                    step_positives += weight;
                } else {
                    step_negatives += weight;
                }
                samples = rest;
            }
            twice_roc_area += u128::from(step_negatives) * u128::from(2 * tp + step_positives);
            if step_positives > 0 {
                let previous_precision = if tp + fp == 0 {
                    1.0
                } else {
                    tp as f64 / (tp + fp) as f64
                };
                tp += step_positives;
                fp += step_negatives;
                let precision = tp as f64 / (tp + fp) as f64;
                let recall_gain = step_positives as f64 / positives as f64;
                aupr.add(recall_gain * (precision + previous_precision) / 2.0);
                // F1 = 2TP / (TP + FP + P) only grows where TP does.
                let (numerator, denominator) = (2 * tp, tp + fp + positives);
                if u128::from(numerator) * u128::from(best_f1_denominator)
                    > u128::from(best_f1_numerator) * u128::from(denominator)
                {
                    (best_f1_numerator, best_f1_denominator) = (numerator, denominator);
                }
            } else {
                fp += step_negatives;
            }
        }
        Ok(ResampledMetrics {
            auroc: twice_roc_area as f64 / (2.0 * positives as f64 * negatives as f64),
            aupr: aupr.value(),
            max_f1: best_f1_numerator as f64 / best_f1_denominator as f64,
        })
    }
}

/// NumPy's `percentile` with its default ("linear") method at `q` percent of
/// `count` ascending values read through `value_at`, including NumPy's
/// rounding-stable interpolation.
pub(crate) fn numpy_percentile(count: usize, q: f64, value_at: impl Fn(usize) -> f64) -> f64 {
    let position = (count - 1) as f64 * q / 100.0;
    let below = position.floor() as usize;
    let above = (below + 1).min(count - 1);
    let fraction = position - below as f64;
    let (a, b) = (value_at(below), value_at(above));
    let difference = b - a;
    if fraction >= 0.5 {
        b - difference * (1.0 - fraction)
    } else {
        a + difference * fraction
    }
}

/// A point estimate with its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    /// The 2.5th and 97.5th percentiles of the resampled values.
    pub ci95: [f64; 2],
}

impl Estimate {
    /// `value` with the interval of its `resampled` values (one per resample).
    pub fn new(value: f64, resampled: &[f64]) -> Self {
        let mut sorted = resampled.to_vec();
        sorted.sort_by(f64::total_cmp);
        let tail = 100.0 * (1.0 - CONFIDENCE) / 2.0;
        let at = |q| numpy_percentile(sorted.len(), q, |i| sorted[i]);
        Self {
            value,
            ci95: [at(tail), at(100.0 - tail)],
        }
    }
}

/// One detector minus another on the same resamples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairedDifference {
    /// The difference of the point estimates, with the interval of the
    /// per-resample differences.
    #[serde(flatten)]
    pub difference: Estimate,
    /// The share of resamples in which the difference is above zero.
    pub share_positive: f64,
}

impl PairedDifference {
    /// `(value, resampled)` of one detector minus those of `baseline`; both
    /// resampled lists come from the same resamples, in the same order.
    pub fn new(value: f64, resampled: &[f64], baseline_value: f64, baseline: &[f64]) -> Self {
        assert_eq!(
            resampled.len(),
            baseline.len(),
            "paired values come from the same resamples"
        );
        let differences: Vec<f64> = resampled.iter().zip(baseline).map(|(a, b)| a - b).collect();
        let positive = differences.iter().filter(|&&d| d > 0.0).count();
        Self {
            difference: Estimate::new(value - baseline_value, &differences),
            share_positive: positive as f64 / differences.len() as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::evaluate;

    #[test]
    fn fnv1a_of_known_strings() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(stream_of(""), 0xcbf29ce484222325);
        assert_eq!(stream_of("a"), 0xaf63dc4c8601ec8c);
        assert_eq!(stream_of("foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn resamples_keep_each_label_count_and_are_seeded() {
        let labels = [
            false, true, false, true, false, true, false, true, false, true, false, true,
        ];
        let a = Resampling::draw(&labels, 50, 7, 3).unwrap();
        assert_eq!(a.resamples(), 50);
        for resample in 0..50 {
            let weights = a.weights(resample);
            let anomalous: u32 = (0..12).filter(|&i| labels[i]).map(|i| weights[i]).sum();
            let normal: u32 = (0..12).filter(|&i| !labels[i]).map(|i| weights[i]).sum();
            assert_eq!((normal, anomalous), (6, 6));
        }
        assert_eq!(a, Resampling::draw(&labels, 50, 7, 3).unwrap());
        assert_ne!(a, Resampling::draw(&labels, 50, 8, 3).unwrap());
        assert_ne!(a, Resampling::draw(&labels, 50, 7, 4).unwrap());
    }

    #[test]
    fn too_few_images_of_a_label_is_refused() {
        let labels = [
            true, true, true, true, false, false, false, false, false, false,
        ];
        assert_eq!(
            Resampling::draw(&labels, 10, 0, 0).unwrap_err(),
            BootstrapError::TooFewImages {
                normal: 6,
                anomalous: 4
            }
        );
    }

    #[test]
    fn weighted_metrics_equal_the_engine_on_repeated_samples() {
        // Three images of two pixels each, ties across images.
        let scores = [[0.9f32, 0.1], [0.5, 0.5], [0.8, 0.1]];
        let labels = [[true, false], [false, true], [false, false]];
        let mut set = ImageScores::new();
        for (s, l) in scores.iter().zip(&labels) {
            set.push_image(s, l);
        }
        set.sort();
        for weights in [[1u32, 1, 1], [2, 0, 1], [0, 3, 1], [1, 2, 3]] {
            let (mut repeated, mut repeated_labels) = (Vec::new(), Vec::new());
            for image in 0..3 {
                for _ in 0..weights[image] {
                    repeated.extend(scores[image]);
                    repeated_labels.extend(labels[image]);
                }
            }
            let expected = evaluate(&repeated, &repeated_labels).unwrap();
            let got = set.weighted_metrics(&weights).unwrap();
            assert!((got.auroc - expected.auroc).abs() < 1e-15, "{weights:?}");
            assert!((got.aupr - expected.aupr).abs() < 1e-15, "{weights:?}");
            assert!((got.max_f1 - expected.max_f1).abs() < 1e-15, "{weights:?}");
        }
    }

    #[test]
    fn percentiles_are_numpys() {
        // numpy.percentile([1, 2, 4, 8], [2.5, 97.5]) = [1.075, 7.7].
        let estimate = Estimate::new(3.0, &[8.0, 1.0, 4.0, 2.0]);
        assert!((estimate.ci95[0] - 1.075).abs() < 1e-12);
        assert!((estimate.ci95[1] - 7.7).abs() < 1e-12);
    }

    #[test]
    fn paired_difference_counts_resamples_above_zero() {
        // Differences 0.1, -0.1, 0.2, 0.0: two of four are above zero.
        let paired = PairedDifference::new(0.7, &[0.6, 0.4, 0.7, 0.5], 0.6, &[0.5, 0.5, 0.5, 0.5]);
        assert_eq!(paired.share_positive, 0.5);
        assert!((paired.difference.value - 0.1).abs() < 1e-15);
    }
}
