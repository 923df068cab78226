//! The residual block a ResNet stacks, and a stage of them applied in order.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::basic_block::{BasicBlock, BasicBlockConfig};
use super::bottleneck::{Bottleneck, BottleneckConfig};

/// Which torchvision block a [`ResNet`](super::ResNet) stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// `BasicBlock`: two 3×3 convolutions (ResNet-18/34).
    Basic,
    /// `Bottleneck`: 1×1, 3×3, 1×1 convolutions, 4× wider output (ResNet-50/101/152).
    Bottleneck,
}

impl BlockKind {
    /// Output channels per "plane" of the stage: torchvision's `block.expansion`.
    pub fn expansion(self) -> usize {
        match self {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }

    /// Configures one block of this kind; `stride` applies to its first 3×3
    /// convolution and its shortcut, as in torchvision.
    pub(crate) fn init<B: Backend>(
        self,
        in_channels: usize,
        planes: usize,
        stride: usize,
        device: &B::Device,
    ) -> Block<B> {
        match self {
            BlockKind::Basic => Block::Basic(
                BasicBlockConfig::new(in_channels, planes)
                    .with_stride(stride)
                    .init(device),
            ),
            BlockKind::Bottleneck => Block::Bottleneck(
                BottleneckConfig::new(in_channels, planes)
                    .with_stride(stride)
                    .init(device),
            ),
        }
    }
}

/// One residual block of either kind.
///
/// An enum so that ResNet-18 and ResNet-50 are one type chosen at run time.
/// burn puts the variant name into parameter paths (`layer1.0.Basic.conv1`);
/// [`weights`](super::weights) skips it, so files carry torchvision's names.
// A network holds at most a few dozen blocks, so the 600 bytes a Basic block
// wastes are nothing; boxing would only add an allocation per block.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Block<B: Backend> {
    /// torchvision's `BasicBlock`.
    Basic(BasicBlock<B>),
    /// torchvision's `Bottleneck`.
    Bottleneck(Bottleneck<B>),
}

impl<B: Backend> Block<B> {
    /// Applies the block.
    ///
    /// # Shapes
    /// - input: `[batch, in_channels, height, width]`
    /// - output: `[batch, planes * expansion, ceil(height / stride), ceil(width / stride)]`
    pub fn forward(&self, input: Tensor<B, 4>) -> Tensor<B, 4> {
        match self {
            Block::Basic(block) => block.forward(input),
            Block::Bottleneck(block) => block.forward(input),
        }
    }
}

/// Applies a stage's blocks in order.
pub(crate) fn stage_forward<B: Backend>(blocks: &[Block<B>], input: Tensor<B, 4>) -> Tensor<B, 4> {
    blocks.iter().fold(input, |x, block| block.forward(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TestBackend;

    #[test]
    fn both_kinds_halve_the_grid_and_set_the_width() {
        let device = Default::default();
        let input = Tensor::<TestBackend, 4>::zeros([1, 8, 7, 6], &device);
        // 3x3 conv, padding 1, stride 2: floor((7 + 2 - 3) / 2) + 1 = 4,
        // floor((6 + 2 - 3) / 2) + 1 = 3.
        let basic = BlockKind::Basic.init::<TestBackend>(8, 16, 2, &device);
        assert_eq!(basic.forward(input.clone()).dims(), [1, 16, 4, 3]);
        // Bottleneck output: 16 planes * expansion 4 = 64 channels.
        let bottleneck = BlockKind::Bottleneck.init::<TestBackend>(8, 16, 2, &device);
        assert_eq!(bottleneck.forward(input).dims(), [1, 64, 4, 3]);
    }

    #[test]
    fn kind_is_saved_in_snake_case() {
        let json = serde_json::to_string(&BlockKind::Bottleneck).unwrap();
        assert_eq!(json, "\"bottleneck\"");
    }
}
