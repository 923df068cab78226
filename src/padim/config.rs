use serde::{Deserialize, Serialize};

use crate::model::Backbone;

use super::{ChannelSelection, MapSize, PadimError, PadimFitter, PADIM_REGULARISER};

/// The seed PaDiM's reference code gives `random.seed` before drawing the
/// channel subset; our generator differs (see [`ChannelSelection::random`]),
/// so only the number is shared.
pub const PADIM_SEED: u64 = 1024;

/// PaDiM's settings, saved with every fit (as JSON through serde) so that a
/// run can be repeated; checked when a fitter is made from them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PadimConfig {
    /// Channels kept per position (100 for ResNet-18, 550 for ResNet-50).
    pub d: usize,
    /// Seed of the random channel subset.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// `λ` of the covariance regulariser `λI`.
    #[serde(default = "default_regulariser")]
    pub regulariser: f64,
}

fn default_seed() -> u64 {
    PADIM_SEED
}

fn default_regulariser() -> f64 {
    PADIM_REGULARISER
}

impl PadimConfig {
    /// `d` channels with PaDiM's seed and regulariser.
    pub const fn new(d: usize) -> Self {
        Self {
            d,
            seed: PADIM_SEED,
            regulariser: PADIM_REGULARISER,
        }
    }

    /// The paper's setting for ResNet-18 (448 channels -> 100).
    pub const fn resnet18() -> Self {
        Self::new(100)
    }

    /// The paper's setting for ResNet-50 (1792 channels -> 550).
    pub const fn resnet50() -> Self {
        Self::new(550)
    }

    /// The paper's d for `backbone` (100 of ResNet-18's 448 tapped channels,
    /// 550 of ResNet-50's 1792), kept as the same fraction of `tapped`, the
    /// channels layer1–3 have at the width used (fewer when narrower); at
    /// least 1.
    pub fn paper(backbone: Backbone, tapped: usize) -> Self {
        let (preset, paper_tapped) = match backbone {
            Backbone::Resnet18 => (Self::resnet18(), 448),
            Backbone::Resnet50 => (Self::resnet50(), 1792),
        };
        let d = ((preset.d * tapped) as f64 / paper_tapped as f64)
            .round()
            .max(1.0) as usize;
        Self::new(d)
    }

    pub const fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub const fn with_regulariser(mut self, regulariser: f64) -> Self {
        self.regulariser = regulariser;
        self
    }

    /// Draws the channel subset for a backbone whose tapped layers have
    /// `layer_channels` channels, and returns a fitter for images of `input`
    /// pixels.
    pub fn fitter(
        &self,
        layer_channels: &[usize],
        input: MapSize,
    ) -> Result<PadimFitter, PadimError> {
        let selection = ChannelSelection::random(layer_channels, self.d, self.seed)?;
        PadimFitter::new(selection, input, self.regulariser)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_defaults_follow_the_paper() {
        let config = PadimConfig::resnet18();
        assert_eq!(
            (config.d, config.seed, config.regulariser),
            (100, 1024, 0.01)
        );
        assert_eq!(PadimConfig::resnet50().d, 550);
        let parsed: PadimConfig = serde_json::from_str(r#"{"d": 100}"#).unwrap();
        assert_eq!(parsed, config);
        let fitter = config
            .fitter(&[64, 128, 256], MapSize::new(224, 224))
            .unwrap();
        assert_eq!(
            fitter.selection(),
            &ChannelSelection::random(&[64, 128, 256], 100, 1024).unwrap()
        );
    }

    #[test]
    fn the_papers_d_scales_with_the_tapped_channels() {
        let tapped = |backbone: Backbone, width| -> usize {
            backbone.config(width).feature_channels().unwrap()[..3]
                .iter()
                .sum()
        };
        // Full width: 64 + 128 + 256 and 256 + 512 + 1024 channels.
        assert_eq!(tapped(Backbone::Resnet18, 1.0), 448);
        assert_eq!(tapped(Backbone::Resnet50, 1.0), 1792);
        assert_eq!(
            PadimConfig::paper(Backbone::Resnet18, 448),
            PadimConfig::resnet18()
        );
        assert_eq!(
            PadimConfig::paper(Backbone::Resnet50, 1792),
            PadimConfig::resnet50()
        );
        // Width 0.25: 16 + 32 + 64 = 112 channels, 100 · 112 / 448 = 25; and
        // 64 + 128 + 256 = 448, 550 · 448 / 1792 = 137.5, rounded up.
        assert_eq!(tapped(Backbone::Resnet18, 0.25), 112);
        assert_eq!(PadimConfig::paper(Backbone::Resnet18, 112).d, 25);
        assert_eq!(PadimConfig::paper(Backbone::Resnet50, 448).d, 138);
        // 100 · 2 / 448 rounds to 0, and d is at least 1.
        assert_eq!(PadimConfig::paper(Backbone::Resnet18, 2).d, 1);
    }

    #[test]
    fn settings_are_checked_when_a_fitter_is_made() {
        let input = MapSize::new(32, 32);
        assert_eq!(
            PadimConfig::new(10)
                .with_regulariser(f64::NAN)
                .fitter(&[8, 8], input)
                .unwrap_err()
                .to_string(),
            "the covariance regulariser NaN must be a finite number > 0, such as PaDiM's 0.01"
        );
        assert_eq!(
            PadimConfig::new(0).fitter(&[8, 8], input).unwrap_err(),
            PadimError::InvalidD { d: 0, total: 16 }
        );
    }
}
