//! The browser bundle: one self-describing file holding everything a
//! [`Detector`] needs for one object class (issue 5), read natively and in
//! wasm alike.
//!
//! Little-endian throughout:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `SPOTDIFF` |
//! | 4 | format version, u32 = 1 |
//! | 8 | length of the whole file in bytes, u64 |
//! | 4 | header length H, u32 |
//! | H | [`BundleHeader`] as UTF-8 JSON: class, backbone, preprocessing, channel subset, sizes, threshold, precision, section table |
//! | … | the sections, back to back in the header's order |
//! | 4 | CRC-32 (IEEE, as zlib and PNG) of every byte before it |
//!
//! Sections: `weights`, the ResNet trunk (stem to layer3) as safetensors with
//! torchvision's names; `mean`, PaDiM's means, position-major, f32;
//! `cholesky`, the packed lower-triangular Cholesky factors of the
//! regularised covariances (`d(d+1)/2` values per position, symmetry halves
//! the covariance), position-major. With [`Precision::F16`] the factors and
//! the convolution weights are half precision, which brings ResNet-18 at 224
//! with d = 100 from 75 MB to under 40 MB (docs/BENCHMARKS.md gives the
//! score change); with [`Precision::F32`] nothing is rounded.
//!
//! [`Bundle::from_bytes`] checks, in this order, the magic, the version, the
//! length (truncated or trailing bytes), the checksum (tampering), the header
//! JSON and the section sizes against the header, then the header against
//! the network the weights section holds (read from its tensor shapes alone:
//! backbone, channel subset, preprocessing within 8192 pixels, input
//! and grid sizes), then every value, so each kind of damage gets its own
//! [`BundleError`], and a header with a valid checksum but invented numbers
//! (the page reads files strangers drop on it) is refused before any of its
//! sizes is allocated.

mod codec;
mod error;
mod header;

use burn::tensor::backend::Backend;

pub use error::BundleError;
pub use header::{BundleHeader, Section};

use crate::data::{Preprocess, PreprocessConfig};
use crate::eval::{score_images, ClassImages, Detector, EvalError, MapDetector};
use crate::metrics::evaluate;
use crate::model::{Precision, ResNetConfig, ResNetTrunk};
use crate::padim::PadimStats;

/// One class's detector as a single file: trunk weights, PaDiM statistics,
/// preprocessing and decision threshold.
#[derive(Debug, Clone)]
pub struct Bundle {
    header: BundleHeader,
    weights: Vec<u8>,
    stats: PadimStats,
}

/// A bundle before its threshold is chosen ([`Bundle::pack`]): everything
/// else, already rounded to its precision, so that the threshold can be
/// chosen on the scores of the very detector its readers get.
#[derive(Debug, Clone)]
pub struct UnthresholdedBundle {
    class: String,
    backbone: ResNetConfig,
    preprocess: Preprocess,
    precision: Precision,
    weights: Vec<u8>,
    stats: PadimStats,
}

/// What the threshold is and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// Images scoring at least this are called anomalous.
    pub score: f32,
    /// For the record, e.g. "max-F1 on the 1cls test split".
    pub source: String,
}

impl Threshold {
    /// The threshold of the best F1 over `detector`'s image scores on
    /// `tests` (normal and anomalous images), recorded as chosen on the test
    /// images of `origin` (e.g. "the 1cls split"); `progress` is told how
    /// many images each batch scored. Fails when `tests` lack normal or
    /// anomalous images ([`EvalError::Metrics`]).
    pub fn max_f1<D: MapDetector + ?Sized>(
        detector: &D,
        tests: &ClassImages,
        origin: &str,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Self, EvalError> {
        let scores = score_images(detector, tests, progress)?;
        let labels: Vec<bool> = tests.samples.iter().map(|s| s.label.is_anomaly()).collect();
        let metrics = evaluate(&scores, &labels)?;
        Ok(Threshold {
            score: metrics.max_f1_threshold as f32,
            source: format!(
                "max-F1 ({:.4}) on the {} test images ({} anomalous) of {origin}",
                metrics.max_f1,
                scores.len(),
                metrics.positives,
            ),
        })
    }

    fn check(&self) -> Result<(), BundleError> {
        if self.score.is_finite() {
            Ok(())
        } else {
            Err(BundleError::Threshold(self.score))
        }
    }
}

impl Bundle {
    /// Packs a fitted detector with a known threshold. With
    /// [`Precision::F16`] the statistics are rounded here, so
    /// [`Bundle::stats`] is what every reader gets.
    pub fn new<B: Backend>(
        class: &str,
        backbone: ResNetConfig,
        trunk: &ResNetTrunk<B>,
        stats: &PadimStats,
        preprocess: &Preprocess,
        threshold: Threshold,
        precision: Precision,
    ) -> Result<Self, BundleError> {
        Self::pack(class, backbone, trunk, stats, preprocess, precision)?.with_threshold(threshold)
    }

    /// Packs a fitted detector whose threshold is still to be chosen, on the
    /// scores of [`UnthresholdedBundle::detector`] (e.g. by
    /// [`Threshold::max_f1`]).
    pub fn pack<B: Backend>(
        class: &str,
        backbone: ResNetConfig,
        trunk: &ResNetTrunk<B>,
        stats: &PadimStats,
        preprocess: &Preprocess,
        precision: Precision,
    ) -> Result<UnthresholdedBundle, BundleError> {
        Ok(UnthresholdedBundle {
            class: class.to_string(),
            backbone,
            preprocess: *preprocess,
            precision,
            weights: trunk.to_safetensors(precision)?,
            stats: codec::round(stats, precision)?,
        })
    }

    pub fn header(&self) -> &BundleHeader {
        &self.header
    }

    /// The PaDiM statistics as stored (rounded when half precision).
    pub fn stats(&self) -> &PadimStats {
        &self.stats
    }

    /// Whether `score` is at or above the bundle's threshold.
    pub fn is_anomalous(&self, score: f32) -> bool {
        score >= self.header.threshold
    }

    /// Loads the trunk onto `device` and returns the detector.
    pub fn detector<B: Backend>(&self, device: &B::Device) -> Result<Detector<B>, BundleError> {
        let preprocess = self
            .header
            .preprocess
            .check()
            .map_err(|e| BundleError::Header(e.to_string()))?;
        detector(
            &self.header.backbone,
            &self.weights,
            self.header.precision,
            preprocess,
            &self.stats,
            device,
        )
    }
}

impl UnthresholdedBundle {
    /// Loads the trunk onto `device` and returns the detector the finished
    /// bundle will give.
    pub fn detector<B: Backend>(&self, device: &B::Device) -> Result<Detector<B>, BundleError> {
        detector(
            &self.backbone,
            &self.weights,
            self.precision,
            self.preprocess,
            &self.stats,
            device,
        )
    }

    /// The finished bundle.
    pub fn with_threshold(self, threshold: Threshold) -> Result<Bundle, BundleError> {
        threshold.check()?;
        let preprocess: PreprocessConfig = *self.preprocess.config();
        let header = BundleHeader {
            class: self.class,
            generator: format!("spotdiff {}", env!("CARGO_PKG_VERSION")),
            backbone: self.backbone,
            preprocess,
            channels: self.stats.selection().clone(),
            grid: self.stats.grid(),
            input: self.stats.input(),
            images: self.stats.images(),
            regulariser: self.stats.regulariser(),
            threshold: threshold.score,
            threshold_source: threshold.source,
            precision: self.precision,
            sections: codec::sections(self.weights.len(), &self.stats, self.precision),
        };
        Ok(Bundle {
            header,
            weights: self.weights,
            stats: self.stats,
        })
    }
}

/// A bundle's parts as a detector on `device`.
fn detector<B: Backend>(
    backbone: &ResNetConfig,
    weights: &[u8],
    precision: Precision,
    preprocess: Preprocess,
    stats: &PadimStats,
    device: &B::Device,
) -> Result<Detector<B>, BundleError> {
    let trunk = backbone
        .init_trunk::<B>(device)?
        .load_safetensors(weights.to_vec(), precision)?;
    Ok(Detector::new(
        trunk,
        stats.clone(),
        preprocess,
        device.clone(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Sample, Split};
    use crate::eval::{fixture, PixelBaseline};

    #[test]
    fn the_max_f1_threshold_is_that_of_the_scores_by_hand() {
        let (source, samples) = fixture::class(3, 2, 3);
        let (train, tests): (Vec<&Sample>, Vec<&Sample>) =
            samples.iter().partition(|s| s.split == Split::Train);
        let preprocess = PreprocessConfig::padim(32).check().unwrap();
        let baseline = PixelBaseline::fit(
            &ClassImages::new(&train, &source, 2),
            preprocess,
            &mut |_| {},
        )
        .unwrap();
        let tests_images = ClassImages::new(&tests, &source, 1);
        let mut scored = 0;
        let threshold = Threshold::max_f1(&baseline, &tests_images, "the test split", &mut |n| {
            scored += n
        })
        .unwrap();
        assert_eq!(scored, 5);
        let scores = score_images(&baseline, &tests_images, &mut |_| {}).unwrap();
        let by_hand = evaluate(&scores, &[false, false, true, true, true]).unwrap();
        assert_eq!(
            threshold,
            Threshold {
                score: by_hand.max_f1_threshold as f32,
                source: format!(
                    "max-F1 ({:.4}) on the 5 test images (3 anomalous) of the test split",
                    by_hand.max_f1
                ),
            }
        );

        let normals = ClassImages::new(&tests[..2], &source, 1);
        assert!(matches!(
            Threshold::max_f1(&baseline, &normals, "the test split", &mut |_| {}),
            Err(EvalError::Metrics(_))
        ));
    }
}
