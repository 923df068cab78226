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
//! JSON and the section sizes against the header, then every value, so each
//! kind of damage gets its own [`BundleError`].

mod codec;
mod error;
mod header;

use burn::tensor::backend::Backend;

pub use error::BundleError;
pub use header::{BundleHeader, Section};

use crate::data::Preprocess;
use crate::eval::Detector;
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

/// What the threshold is and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// Images scoring at least this are called anomalous.
    pub score: f32,
    /// For the record, e.g. "max-F1 on the 1cls test split".
    pub source: String,
}

impl Bundle {
    /// Packs a fitted detector. With [`Precision::F16`] the statistics are
    /// rounded here, so [`Bundle::stats`] is what every reader gets.
    pub fn new<B: Backend>(
        class: &str,
        backbone: ResNetConfig,
        trunk: &ResNetTrunk<B>,
        stats: &PadimStats,
        preprocess: &Preprocess,
        threshold: Threshold,
        precision: Precision,
    ) -> Result<Self, BundleError> {
        if !threshold.score.is_finite() {
            return Err(BundleError::Threshold(threshold.score));
        }
        let weights = trunk.to_safetensors(precision)?;
        let stats = codec::round(stats, precision)?;
        let header = BundleHeader {
            class: class.to_string(),
            generator: format!("spotdiff {}", env!("CARGO_PKG_VERSION")),
            backbone,
            preprocess: *preprocess.config(),
            channels: stats.selection().clone(),
            grid: stats.grid(),
            input: stats.input(),
            images: stats.images(),
            regulariser: stats.regulariser(),
            threshold: threshold.score,
            threshold_source: threshold.source,
            precision,
            sections: codec::sections(weights.len(), &stats, precision),
        };
        Ok(Self {
            header,
            weights,
            stats,
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
        let trunk = self
            .header
            .backbone
            .init_trunk::<B>(device)?
            .load_safetensors(self.weights.clone(), self.header.precision)?;
        let preprocess = self
            .header
            .preprocess
            .check()
            .map_err(|e| BundleError::Header(e.to_string()))?;
        Ok(Detector::new(
            trunk,
            self.stats.clone(),
            preprocess,
            device.clone(),
        )?)
    }
}
