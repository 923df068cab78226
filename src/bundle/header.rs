use serde::{Deserialize, Serialize};

use crate::data::PreprocessConfig;
use crate::model::{Precision, ResNetConfig};
use crate::padim::{ChannelSelection, MapSize};

/// The bundle's JSON header: everything but the arrays, readable as text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleHeader {
    /// The object class the statistics were fitted on.
    pub class: String,
    /// The spotdiff version that wrote the bundle.
    pub generator: String,
    /// The ResNet (block, stages, width) whose trunk the weights are; its
    /// layer4 and classifier are not stored.
    pub backbone: ResNetConfig,
    /// How images are resized, cropped and normalised before scoring.
    pub preprocess: PreprocessConfig,
    /// PaDiM's channel subset.
    pub channels: ChannelSelection,
    /// The layer-1 feature grid.
    pub grid: MapSize,
    /// The input (crop) size anomaly maps have.
    pub input: MapSize,
    /// Training images the statistics were fitted on.
    pub images: u64,
    /// The covariance regulariser `λ`.
    pub regulariser: f64,
    /// Images scoring at least this are called anomalous.
    pub threshold: f32,
    /// How the threshold was chosen (for example "max-F1 on the 1cls test split").
    pub threshold_source: String,
    /// The precision of the convolution weights and the Cholesky factors.
    pub precision: Precision,
    /// The binary sections after the header, in file order, back to back.
    pub sections: Vec<Section>,
}

/// One binary section: its name and its length in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub name: String,
    /// `safetensors`, `f32le` or `f16le`.
    pub encoding: String,
    pub bytes: u64,
}
