//! The hyper-parameters of a pre-training run, checked once.

use burn::config::Config;
use thiserror::Error;

use super::method::MethodKind;
use crate::model::{ModelError, ResNetConfig};

/// Why a pre-training configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum PretrainError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{field} = {value} is invalid: expected {expected}")]
    Setting {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// Everything that defines a method's model and loss (the optimiser and
/// data settings live with the training loop).
#[derive(Config, Debug)]
pub struct PretrainConfig {
    pub method: MethodKind,
    pub backbone: ResNetConfig,
    /// SPD's weight η in `L = L_method + η · L_spd` (seed: 0.1); 0 trains
    /// the plain method.
    #[config(default = 0.1)]
    pub spd_weight: f64,
    /// Object classes, the supervised method's outputs.
    #[config(default = 1)]
    pub classes: usize,
    /// MoCo's key-encoder momentum (MoCo v2: 0.999).
    #[config(default = 0.999)]
    pub moco_momentum: f64,
    /// MoCo's queue of negative keys (MoCo v2: 65536).
    #[config(default = 65536)]
    pub moco_queue: usize,
    /// MoCo v2's InfoNCE temperature.
    #[config(default = 0.2)]
    pub moco_temperature: f64,
    /// SimCLR's NT-Xent temperature.
    #[config(default = 0.5)]
    pub simclr_temperature: f64,
}

impl PretrainConfig {
    /// Checks every setting; the methods' `init` call it.
    pub fn check(&self) -> Result<(), PretrainError> {
        self.backbone.feature_channels()?;
        let setting = |field, value: f64, ok: bool, expected| {
            if ok {
                Ok(())
            } else {
                Err(PretrainError::Setting {
                    field,
                    value: value.to_string(),
                    expected,
                })
            }
        };
        let w = self.spd_weight;
        setting(
            "spd_weight",
            w,
            w.is_finite() && w >= 0.0,
            "a finite weight >= 0 (the seed: 0.1; 0 disables SPD)",
        )?;
        let m = self.moco_momentum;
        setting(
            "moco_momentum",
            m,
            (0.0..1.0).contains(&m),
            "a momentum in [0, 1) (MoCo v2: 0.999)",
        )?;
        for (field, t) in [
            ("moco_temperature", self.moco_temperature),
            ("simclr_temperature", self.simclr_temperature),
        ] {
            setting(
                field,
                t,
                t.is_finite() && t > 0.0,
                "a temperature > 0 (MoCo v2: 0.2, SimCLR: 0.5)",
            )?;
        }
        setting(
            "moco_queue",
            self.moco_queue as f64,
            self.moco_queue > 0,
            "at least one key (MoCo v2: 65536)",
        )?;
        setting(
            "classes",
            self.classes as f64,
            self.classes > 0,
            "at least one class",
        )?;
        Ok(())
    }

    /// Channels of the pooled backbone features.
    pub fn feature_dim(&self) -> Result<usize, PretrainError> {
        Ok(self.backbone.feature_channels()?[3])
    }

    /// SimSiam's projector and predictor sizes: 2048 and 512 at ResNet-50's
    /// full width, scaled with the width multiplier (at least 16 and 4).
    pub fn simsiam_dims(&self) -> (usize, usize) {
        let dim = ((2048.0 * self.backbone.width).round() as usize).max(16);
        (dim, dim / 4)
    }

    /// Whether the SPD views are built and the SPD term is added.
    pub fn uses_spd(&self) -> bool {
        self.spd_weight > 0.0
    }
}
