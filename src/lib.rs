//! spotdiff: SPot-the-Difference (SPD) self-supervised pre-training for visual
//! anomaly detection and segmentation (Zou et al., ECCV 2022), the PaDiM
//! detector and the paper's evaluation protocol.
//!
//! This crate is the shared core: it compiles natively for the trainer CLI and
//! to `wasm32-unknown-unknown` for the browser app, unchanged. It does no file
//! or network I/O of its own; the shells at the edges do.
//!
//! - [`augment`]: SmoothBlend, the weak global view and the SimSiam/MoCo/SimCLR strong view, pure functions of (image, seeded stream).
//! - [`bundle`]: one class's detector (trunk weights, PaDiM statistics,
//!   preprocessing, threshold) as one checked file for the browser.
//! - [`data`]: VisA and MVTec AD readers, decoding, preprocessing, checks and
//!   the procedural data set; its `DirSource` (native only) is the one
//!   file-system edge, everything else takes bytes.
//! - [`eval`]: the [`eval::Detector`] pipeline (image to anomaly map), a ResNet's PaDiM taps, the per-pixel baseline, and one class's
//!   evaluation from anomaly maps to the paper's metrics.
//! - [`kernels`]: batch norm in training and convolution as single
//!   operations (native flex kernels with closed-form backward passes).
//! - [`metrics`]: exact AU-ROC, AU-PR, average precision, max-F1, the paper's
//!   own threshold sweep, and PRO / AU-PRO, streamed image by image.
//! - [`model`]: ResNet-18/50 with torchvision's names and a width multiplier;
//!   safetensors import/export, `.pth` import (native only, from a path).
//! - [`padim`]: the PaDiM detector on plain feature maps: streaming fit, scoring, stored statistics.
//! - [`toy`]: the supplementary material's AU-PR vs AU-ROC toy example (section B).
//! - [`report`]: per-class tables (Tables 7–14) and scatter plots (Fig. 7/8).
//! - [`plot`]: dependency-free SVG line charts for curves and figures.
//! - [`rng`]: the one seeded random stream (ChaCha8) of the generator, the
//!   augmentations and PaDiM's channel subset.

pub mod augment;
pub mod bundle;
pub mod data;
pub mod eval;
pub mod kernels;
pub mod metrics;
pub mod model;
pub mod padim;
pub mod plot;
pub mod pretrain;
pub mod report;
pub mod rng;
pub mod toy;
