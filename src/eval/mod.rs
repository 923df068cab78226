//! The evaluation of a detector on one object class (SPEC "PaDiM" and
//! "Metrics"): images are loaded and preprocessed, scored into anomaly maps by
//! any detector, and the maps turned into the paper's classification and
//! segmentation metrics plus AU-PRO.
//!
//! - [`Detector`]: a trunk, PaDiM statistics and preprocessing: a decoded
//!   image in, its anomaly map and score out, natively or asynchronously
//!   (WebGPU in the browser).
//! - [`padim_taps`]: a ResNet's layer1–3 outputs for a batch, as the plain
//!   [`FeatureMap`](crate::padim::FeatureMap)s PaDiM takes, on any backend.
//! - [`PixelBaseline`]: the trivial per-pixel detector the generated data
//!   set's difficulty is calibrated against (issue 3).
//! - [`ClassEvaluator`]: image score = map maximum; exact metrics or the
//!   paper's threshold sweep for segmentation ([`Protocol`]).

mod baseline;
mod detector;
mod error;
mod evaluator;
mod extract;
mod load;

pub use baseline::{PixelBaseline, PixelBaselineFitter, BASELINE_EPS};
pub use detector::{Detection, Detector};
pub use error::EvalError;
pub use evaluator::{ClassEvaluator, ClassMetrics, Protocol, Segmentation};
pub use extract::{padim_taps, padim_taps_async, LayerTaps};
pub use load::{load_preprocessed, Preprocessed};
