//! The evaluation of a detector on one object class (SPEC "PaDiM" and
//! "Metrics"): images are loaded and preprocessed, scored into anomaly maps by
//! any detector, and the maps turned into the paper's classification and
//! segmentation metrics plus AU-PRO. Every per-class pipeline is here, once,
//! generic over the backend and reporting progress through a callback, so the
//! command line and the browser only turn their inputs into these calls.
//!
//! - [`Detector`]: a trunk, PaDiM statistics and preprocessing: a decoded
//!   image in, its anomaly map and score out, natively or asynchronously
//!   (WebGPU in the browser).
//! - [`PadimFit`]: PaDiM fitted on a class's training normals
//!   ([`ClassImages`]) with one backbone.
//! - [`padim_taps`]: a ResNet's layer1–3 outputs for a batch, as the plain
//!   [`FeatureMap`](crate::padim::FeatureMap)s PaDiM takes, on any backend.
//! - [`PixelBaseline`]: the trivial per-pixel detector the generated data
//!   set's difficulty is calibrated against (issue 3), fitted by
//!   [`PixelBaseline::fit`].
//! - [`MapDetector`]: what both detectors offer the pipelines:
//!   [`evaluate_class`] (test images and masks → [`ClassMetrics`]) and
//!   [`score_images`] (image scores only).
//! - [`ClassEvaluator`]: image score = map maximum; exact metrics or the
//!   paper's threshold sweep for segmentation ([`Protocol`]).
//! - [`ClassSummary`]: the metrics as reports write them (details.json).
//! - [`Uncertain`]: bootstrap intervals of a class's metrics, paired
//!   differences between detectors and the mean over classes
//!   ([`ClassEvaluator::with_bootstrap`]).

mod baseline;
mod detector;
mod error;
mod evaluator;
mod extract;
mod fit;
#[cfg(test)]
pub(crate) mod fixture;
mod load;
mod summary;
mod uncertainty;

pub use baseline::{PixelBaseline, PixelBaselineFitter, BASELINE_EPS};
pub use detector::{Detection, Detector, MapDetector};
pub use error::EvalError;
pub use evaluator::{
    evaluate_class, score_images, ClassEvaluation, ClassEvaluator, ClassMetrics, Protocol,
    Segmentation,
};
pub use extract::{padim_taps, padim_taps_async, LayerTaps};
pub use fit::PadimFit;
pub use load::{load_preprocessed, ClassImages, Preprocessed};
pub use summary::{
    ClassSummary, ClassificationSummary, ImageScore, Intervals, SegmentationSummary, Versus,
};
pub use uncertainty::{Bootstrap, Metrics, Resampled, TaskMetrics, Uncertain};
