use thiserror::Error;

use crate::eval::EvalError;
use crate::model::{ModelError, WeightsError};
use crate::padim::PadimError;

/// Why a bundle cannot be made, read or turned into a detector.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum BundleError {
    #[error("not a spotdiff bundle: the file does not start with the magic header \"SPOTDIFF\"")]
    BadMagic,
    #[error("bundle format version {got} is not supported (this build reads version {supported}): export the bundle again with this version of spotdiff")]
    UnsupportedVersion { got: u32, supported: u32 },
    #[error("the bundle is truncated: it should be {expected} bytes long but is {got}; download or copy it again")]
    Truncated { expected: u64, got: u64 },
    #[error("{extra} unexpected bytes follow the bundle: the file is corrupted or was joined with another")]
    TrailingBytes { extra: u64 },
    #[error("the bundle's checksum does not match (stored {stored:08x}, computed {computed:08x}): the file was altered or damaged; export it again")]
    Checksum { stored: u32, computed: u32 },
    #[error("the bundle's header is not valid: {0}")]
    Header(String),
    #[error("the bundle's {section} section is {got} bytes, but its header implies {expected}: the file is inconsistent")]
    SectionSize {
        section: String,
        expected: u64,
        got: u64,
    },
    #[error("the bundle's statistics do not fit in half precision ({what} value {value} at index {index}): export with full precision")]
    HalfOverflow {
        what: &'static str,
        index: usize,
        value: f32,
    },
    #[error("the bundle's header claims a {header} backbone, but its weights section holds a {weights}: the file is inconsistent; export it again")]
    Backbone { header: String, weights: String },
    #[error("the bundle's threshold {0} is not a finite number")]
    Threshold(f32),
    #[error("the bundle's PaDiM statistics are unusable: {0}")]
    Stats(#[from] PadimError),
    #[error("the bundle's backbone is unusable: {0}")]
    Model(#[from] ModelError),
    #[error("the bundle's backbone weights are unusable: {0}")]
    Weights(#[from] WeightsError),
    #[error("the bundle's parts do not fit together: {0}")]
    Detector(#[from] EvalError),
}
