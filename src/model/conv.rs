//! torchvision's convolution helpers, shared by the stem, the blocks and
//! their shortcuts.

use core::f64::consts::SQRT_2;

use burn::nn::conv::Conv2dConfig;
use burn::nn::{Initializer, PaddingConfig2d};

/// torchvision's initialisation of every ResNet convolution:
/// `kaiming_normal_(mode="fan_out", nonlinearity="relu")`.
fn kaiming_fan_out() -> Initializer {
    Initializer::KaimingNormal {
        gain: SQRT_2,
        fan_out_only: true,
    }
}

/// torchvision's `conv3x3`: 3×3, padding 1, no bias.
pub(crate) fn conv3x3(in_channels: usize, out_channels: usize, stride: usize) -> Conv2dConfig {
    Conv2dConfig::new([in_channels, out_channels], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(false)
        .with_initializer(kaiming_fan_out())
}

/// torchvision's `conv1x1`: 1×1, no padding, no bias.
pub(crate) fn conv1x1(in_channels: usize, out_channels: usize, stride: usize) -> Conv2dConfig {
    Conv2dConfig::new([in_channels, out_channels], [1, 1])
        .with_stride([stride, stride])
        .with_bias(false)
        .with_initializer(kaiming_fan_out())
}

/// torchvision's stem convolution: 7×7, stride 2, padding 3, no bias.
pub(crate) fn conv7x7_stem(out_channels: usize) -> Conv2dConfig {
    Conv2dConfig::new([3, out_channels], [7, 7])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3))
        .with_bias(false)
        .with_initializer(kaiming_fan_out())
}
