//! spotdiff: SPot-the-Difference (SPD) self-supervised pre-training for visual
//! anomaly detection and segmentation (Zou et al., ECCV 2022), the PaDiM
//! detector and the paper's evaluation protocol.
//!
//! This crate is the shared core: it compiles natively for the trainer CLI and
//! to `wasm32-unknown-unknown` for the browser app, unchanged. It does no file
//! or network I/O of its own; the shells at the edges do.
//!
//! - [`metrics`]: exact AU-ROC, AU-PR, average precision, max-F1, the paper's
//!   own threshold sweep, and PRO / AU-PRO, streamed image by image.
//! - [`model`]: ResNet-18/50 with torchvision's names and a width multiplier;
//!   safetensors import/export, `.pth` import (native only, from a path).
//! - [`toy`]: the supplementary material's AU-PR vs AU-ROC toy example (section B).
//! - [`plot`]: dependency-free SVG line charts for curves and figures.

pub mod metrics;
pub mod model;
pub mod plot;
pub mod toy;
