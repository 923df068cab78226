//! ResNet backbones (He et al., "Deep Residual Learning for Image Recognition",
//! CVPR 2016) as torchvision builds them, for SPD pre-training and PaDiM.
//!
//! SPEC "Backbones": ResNet-18 ([`BasicBlock`]) and ResNet-50 ([`Bottleneck`],
//! torchvision's "v1.5" with the stride on the 3×3 convolution) keep
//! torchvision's module and parameter names (`conv1`, `bn1`,
//! `layer1.0.conv1`, `layer2.0.downsample.0`, `fc`, …), so torchvision state
//! dicts import unchanged. A width multiplier scales every channel count
//! (`0.25` gives 16 base channels instead of 64) and any input size works,
//! so CPU runs stay small.
//!
//! [`ResNet::features`] returns the taps after layer1..layer4 (PaDiM uses the
//! first three), [`ResNet::pooled`] the globally pooled layer4 features and
//! [`ResNet::forward`] the classifier's logits; [`ResNetTrunk`] is the
//! network cut after layer3, all PaDiM needs, and [`FoldedTrunk`] the same
//! for inference with batch norm folded into the convolutions. [`weights`] imports
//! safetensors and PyTorch `.pth` files and exports safetensors with the same
//! names.

mod backbone;
mod basic_block;
mod block;
mod bottleneck;
mod conv;
mod downsample;
mod error;
mod folded;
mod resnet;
mod trunk;
pub mod weights;

pub use backbone::Backbone;
pub use basic_block::{BasicBlock, BasicBlockConfig};
pub use block::{Block, BlockKind};
pub use bottleneck::{Bottleneck, BottleneckConfig};
pub use downsample::{Downsample, DownsampleConfig};
pub use error::{ModelError, TensorProblem, WeightFormat, WeightsError};
pub use folded::FoldedTrunk;
pub use resnet::{ResNet, ResNetConfig, ResNetFeatures};
pub use trunk::ResNetTrunk;
pub use weights::Precision;

/// Backend of the unit tests: burn's pure-Rust CPU backend.
#[cfg(test)]
pub(crate) type TestBackend = burn::backend::Flex;
