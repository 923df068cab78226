//! torchvision's `BasicBlock`, the residual block of ResNet-18 and ResNet-34.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::conv::conv3x3;
use super::downsample::{shortcut, Downsample, DownsampleConfig};
use crate::kernels::{batch_norm_add_relu, batch_norm_relu, conv2d};

/// Configuration of a [`BasicBlock`].
#[derive(Config, Debug)]
pub struct BasicBlockConfig {
    /// Channels coming in.
    pub in_channels: usize,
    /// Width of both convolutions and of the output (expansion 1).
    pub planes: usize,
    /// Stride of the first convolution and of the shortcut.
    #[config(default = 1)]
    pub stride: usize,
}

/// torchvision's `BasicBlock`: `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
#[derive(Module, Debug)]
pub struct BasicBlock<B: Backend> {
    /// 3×3, `in_channels → planes`, the block's stride. Weight `[planes, in_channels, 3, 3]`.
    pub conv1: Conv2d<B>,
    /// Batch norm over `planes` channels.
    pub bn1: BatchNorm<B>,
    /// 3×3, `planes → planes`, stride 1. Weight `[planes, planes, 3, 3]`.
    pub conv2: Conv2d<B>,
    /// Batch norm over `planes` channels.
    pub bn2: BatchNorm<B>,
    /// Projection shortcut where the stride or the width changes, else identity.
    pub downsample: Option<Downsample<B>>,
}

impl BasicBlockConfig {
    /// Output channels of the block.
    pub fn out_channels(&self) -> usize {
        self.planes
    }

    /// Initialises the block on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> BasicBlock<B> {
        let out = self.out_channels();
        let downsample = (self.stride != 1 || self.in_channels != out).then(|| {
            DownsampleConfig::new(self.in_channels, out)
                .with_stride(self.stride)
                .init(device)
        });
        BasicBlock {
            conv1: conv3x3(self.in_channels, self.planes, self.stride).init(device),
            bn1: BatchNormConfig::new(self.planes).init(device),
            conv2: conv3x3(self.planes, self.planes, 1).init(device),
            bn2: BatchNormConfig::new(self.planes).init(device),
            downsample,
        }
    }
}

impl<B: Backend> BasicBlock<B> {
    /// Applies the block.
    ///
    /// # Shapes
    /// - input: `[batch, in_channels, height, width]`
    /// - output: `[batch, planes, ceil(height / stride), ceil(width / stride)]`
    pub fn forward(&self, input: Tensor<B, 4>) -> Tensor<B, 4> {
        let identity = shortcut(&self.downsample, input.clone());
        let x = batch_norm_relu(&self.bn1, conv2d(&self.conv1, input));
        batch_norm_add_relu(&self.bn2, conv2d(&self.conv2, x), identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TestBackend;

    #[test]
    fn keeps_shape_at_stride_one() {
        let device = Default::default();
        let block = BasicBlockConfig::new(16, 16).init::<TestBackend>(&device);
        // Same width and stride 1: torchvision adds no downsample.
        assert!(block.downsample.is_none());
        let input = Tensor::<TestBackend, 4>::ones([2, 16, 8, 8], &device);
        assert_eq!(block.forward(input).dims(), [2, 16, 8, 8]);
    }

    #[test]
    fn strided_block_projects_the_shortcut() {
        let device = Default::default();
        let block = BasicBlockConfig::new(16, 32)
            .with_stride(2)
            .init::<TestBackend>(&device);
        assert!(block.downsample.is_some());
        let input = Tensor::<TestBackend, 4>::ones([2, 16, 8, 8], &device);
        // 3x3, padding 1, stride 2: floor((8 + 2 - 3) / 2) + 1 = 4.
        assert_eq!(block.forward(input).dims(), [2, 32, 4, 4]);
        // Output of a final ReLU.
        let min: f32 = block
            .forward(Tensor::ones([1, 16, 4, 4], &device))
            .min()
            .into_scalar();
        assert!(min >= 0.0);
    }
}
