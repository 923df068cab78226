use thiserror::Error;

use super::MapSize;

/// Why PaDiM statistics cannot be fitted, decoded or used for scoring.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum PadimError {
    #[error("no feature layers were given: PaDiM needs at least one (layer1, layer2, layer3 of a ResNet)")]
    NoLayers,
    #[error("layer {layer} has 0 channels: every feature layer needs at least one channel")]
    EmptyLayer { layer: usize },
    #[error("the layers have {total} channels in all, more than the 2^32 - 1 PaDiM can index")]
    TooManyChannels { total: u64 },
    #[error("d = {d} channels cannot be chosen from {total}: choose d between 1 and {total} (100 for ResNet-18, 550 for ResNet-50)")]
    InvalidD { d: usize, total: usize },
    #[error(
        "channel index {index} is out of range: the layers have {total} channels, numbered from 0"
    )]
    ChannelOutOfRange { index: usize, total: usize },
    #[error("channel {index} is chosen twice: the channel subset must not repeat a channel")]
    DuplicateChannel { index: usize },
    #[error("{got} feature layers were given, but the channel subset was drawn for {expected}: pass the same layers (layer1, layer2, layer3) in the same order")]
    LayerCount { expected: usize, got: usize },
    #[error("layer {layer} has {got} channels, but the channel subset was drawn for {expected}: use the backbone the statistics were fitted with")]
    LayerChannels {
        layer: usize,
        expected: usize,
        got: usize,
    },
    #[error("layer {layer} is {channels}x{height}x{width} (channels x height x width), which needs {expected} values, but {got} were given: pass each map row-major as channels x height x width")]
    FeatureMapLength {
        layer: usize,
        channels: usize,
        height: usize,
        width: usize,
        expected: u128,
        got: usize,
    },
    #[error("layer {layer} has an empty grid ({height}x{width}): every feature map needs at least one position")]
    EmptyGrid {
        layer: usize,
        height: usize,
        width: usize,
    },
    #[error("layer {layer}, channel {channel}, position (row {row}, column {column}) is {value}: every feature must be a finite number")]
    NonFiniteFeature {
        layer: usize,
        channel: usize,
        row: usize,
        column: usize,
        value: f32,
    },
    #[error("the image's layer-1 grid is {got}, but the statistics are for {expected}: use the input size the statistics were fitted with")]
    GridMismatch { expected: MapSize, got: MapSize },
    #[error("the size {size} is empty: maps and input images need at least one pixel")]
    EmptySize { size: MapSize },
    #[error(
        "a {size} map needs {expected} values, but {got} were given: pass the values row-major"
    )]
    MapLength {
        size: MapSize,
        expected: usize,
        got: usize,
    },
    #[error("the covariance regulariser {0} must be a finite number > 0, such as PaDiM's 0.01")]
    InvalidRegulariser(f64),
    #[error(
        "the Gaussian smoothing sigma {0} must be a finite number in (0, 10000], such as PaDiM's 4"
    )]
    InvalidSigma(f64),
    #[error("PaDiM was fitted on {images} image(s): the unbiased covariance needs at least 2 (more than d is better)")]
    TooFewImages { images: u64 },
    #[error("the regularised covariance at position (row {row}, column {column}) is not positive definite (Cholesky pivot {pivot:.3e} at channel {channel} of the subset): raise the regulariser above {regulariser}, e.g. to {suggested}, or check the features for huge values")]
    NotPositiveDefinite {
        row: usize,
        column: usize,
        channel: usize,
        pivot: f64,
        regulariser: f64,
        suggested: f64,
    },
    #[error("the covariance at position (row {row}, column {column}) does not fit in 32-bit floats: scale the features down")]
    CovarianceOverflow { row: usize, column: usize },
    #[error("position {position} is out of range: the grid has {positions} positions, numbered row by row from 0")]
    PositionOutOfRange { position: usize, positions: usize },
    #[error("cannot allocate {bytes} bytes for {what}: choose a smaller d or input size")]
    OutOfMemory { what: &'static str, bytes: u128 },
    #[error("the sizes in the PaDiM statistics overflow: {what} is too large for this machine; the data is corrupted")]
    SizeOverflow { what: &'static str },
    #[error("the PaDiM statistics hold {got} {what} values, expected {expected}: the statistics are corrupted or incomplete")]
    StatsLength {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("the PaDiM statistics hold an invalid {what} value at index {index} ({value}): the statistics are corrupted")]
    InvalidStat {
        what: &'static str,
        index: usize,
        value: f64,
    },
    #[error("not PaDiM statistics: the bytes do not start with the magic header \"SPDPADIM\"")]
    BadMagic,
    #[error("PaDiM statistics format version {got} is not supported (this build reads version {supported}): export the statistics again with this version of spotdiff")]
    UnsupportedVersion { got: u32, supported: u32 },
    #[error("the PaDiM statistics end early: reading the {what} needs {needed} bytes, but only {remaining} remain; the file is truncated")]
    Truncated {
        what: &'static str,
        needed: u128,
        remaining: usize,
    },
    #[error("{extra} unexpected bytes follow the PaDiM statistics: the file is corrupted or was joined with another")]
    TrailingBytes { extra: usize },
}
