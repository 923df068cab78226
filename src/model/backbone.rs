//! The backbone architectures by name, as a command line or a manifest gives them.

use serde::{Deserialize, Serialize};

use super::resnet::ResNetConfig;

/// One of torchvision's ResNets that spotdiff builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Backbone {
    /// ResNet-18 (basic blocks, 2-2-2-2).
    Resnet18,
    /// ResNet-50 (bottlenecks, 3-4-6-3).
    Resnet50,
}

impl Backbone {
    pub const ALL: [Backbone; 2] = [Backbone::Resnet18, Backbone::Resnet50];

    /// torchvision's name: `resnet18` or `resnet50`.
    pub fn name(self) -> &'static str {
        match self {
            Backbone::Resnet18 => "resnet18",
            Backbone::Resnet50 => "resnet50",
        }
    }

    /// The network at `width` (1.0 is torchvision's).
    pub fn config(self, width: f64) -> ResNetConfig {
        let config = match self {
            Backbone::Resnet18 => ResNetConfig::resnet18(),
            Backbone::Resnet50 => ResNetConfig::resnet50(),
        };
        config.with_width(width)
    }

    /// The architecture `config` builds, when it is one of these.
    pub fn of(config: &ResNetConfig) -> Option<Backbone> {
        Backbone::ALL
            .into_iter()
            .find(|b| Some(b.name()) == config.torchvision_name())
    }
}

impl core::fmt::Display for Backbone {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for Backbone {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Backbone::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| format!("unknown backbone `{name}`: choose `resnet18` or `resnet50`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_configs() {
        for backbone in Backbone::ALL {
            assert_eq!(Backbone::of(&backbone.config(0.5)), Some(backbone));
            assert_eq!(backbone.name().parse::<Backbone>(), Ok(backbone));
        }
        assert!("resnet34".parse::<Backbone>().is_err());
    }
}
