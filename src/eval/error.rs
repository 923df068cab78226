use thiserror::Error;

use crate::data::{DataError, PreprocessError};
use crate::metrics::MetricsError;
use crate::model::ModelError;
use crate::padim::{MapSize, PadimError};

/// Why a class cannot be fitted or evaluated.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum EvalError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Preprocess(#[from] PreprocessError),
    #[error(transparent)]
    Padim(#[from] PadimError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("a batch of 0 images: give at least 1 image per forward pass")]
    EmptyBatch,
    #[error("cannot read the backbone's {layer} output back from the device: {message}")]
    Readback {
        layer: &'static str,
        message: String,
    },
    #[error("image {index} of the batch is {got_height}x{got_width} but the first is {height}x{width}: a batch needs one size")]
    MixedSizes {
        index: usize,
        height: usize,
        width: usize,
        got_height: usize,
        got_width: usize,
    },
    #[error("the PaDiM statistics were fitted on {stats} inputs, but the preprocessing crops {crop}x{crop}: use the preprocessing the statistics were fitted with")]
    InputSize { stats: MapSize, crop: u32 },
    #[error("the baseline was fitted on {fitted} images but this one is {got}")]
    BaselineSize { fitted: String, got: String },
    #[error(
        "the pixel baseline needs at least 2 training images for a standard deviation, got {0}"
    )]
    TooFewImages(u64),
}
