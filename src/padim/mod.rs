//! PaDiM (Defard et al., "PaDiM: a Patch Distribution Modeling Framework for
//! Anomaly Detection and Localization", ICPR 2021), as in its reference code
//! and anomalib, without the neural network: the backbone's feature maps come
//! in as plain f32 arrays, so this module runs on any backend and in wasm32.
//!
//! Settings live in [`PadimConfig`] (d, seed, regulariser; presets for
//! ResNet-18 and ResNet-50), which makes a [`PadimFitter`].
//!
//! 1. [`ChannelSelection::embed`]: layer2 and layer3 are resampled (nearest)
//!    to layer1's grid, concatenated, and a fixed random subset of `d`
//!    channels is kept (R18: 448 -> 100, R50: 1792 -> 550).
//! 2. [`PadimFitter`]: per grid position, the mean and unbiased covariance
//!    `+ λI` (λ = 0.01) of the training embeddings, streamed image by image
//!    in `O(positions·d²)` memory, factorised by Cholesky in parallel.
//! 3. [`PadimStats::anomaly_map`]: Mahalanobis distance (not squared) per
//!    position, bilinear upsampling to the input size, Gaussian smoothing with
//!    σ = 4 (scipy's `gaussian_filter`); the image score is the map's maximum.
//! 4. [`PadimStats::to_bytes`] / [`PadimStats::from_bytes`]: a compact,
//!    checked binary form for files and browser bundles (serde works too).

mod cholesky;
mod codec;
mod config;
mod embedding;
mod error;
mod fit;
mod map;
mod parallel;
mod resize;
mod score;
mod selection;
mod size;
mod smooth;
mod stats;

pub use config::{PadimConfig, PADIM_SEED};
pub use embedding::{Embedding, FeatureMap};
pub use error::PadimError;
pub use fit::{Moments, PadimFitter, PADIM_REGULARISER};
pub use map::ScoreMap;
pub use resize::resize_bilinear;
pub use selection::ChannelSelection;
pub use size::MapSize;
pub use smooth::{GaussianFilter, PADIM_SIGMA};
pub use stats::PadimStats;

pub(crate) use parallel::try_map_in_order;
