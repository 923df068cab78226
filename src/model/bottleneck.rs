//! torchvision's `Bottleneck`, the residual block of ResNet-50/101/152.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::conv::{conv1x1, conv3x3};
use super::downsample::{shortcut, Downsample, DownsampleConfig};
use crate::kernels::{batch_norm_add_relu, batch_norm_relu, conv2d};

/// Output channels per plane: torchvision's `Bottleneck.expansion`.
const EXPANSION: usize = 4;

/// Configuration of a [`Bottleneck`].
#[derive(Config, Debug)]
pub struct BottleneckConfig {
    /// Channels coming in.
    pub in_channels: usize,
    /// Inner width; the output has `4 * planes` channels.
    pub planes: usize,
    /// Stride of the 3×3 convolution (torchvision's "ResNet v1.5") and of the shortcut.
    #[config(default = 1)]
    pub stride: usize,
}

/// torchvision's `Bottleneck`:
/// `relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x))`.
#[derive(Module, Debug)]
pub struct Bottleneck<B: Backend> {
    /// 1×1, `in_channels → planes`. Weight `[planes, in_channels, 1, 1]`.
    pub conv1: Conv2d<B>,
    /// Batch norm over `planes` channels.
    pub bn1: BatchNorm<B>,
    /// 3×3, `planes → planes`, the block's stride. Weight `[planes, planes, 3, 3]`.
    pub conv2: Conv2d<B>,
    /// Batch norm over `planes` channels.
    pub bn2: BatchNorm<B>,
    /// 1×1, `planes → 4 * planes`. Weight `[4 * planes, planes, 1, 1]`.
    pub conv3: Conv2d<B>,
    /// Batch norm over `4 * planes` channels.
    pub bn3: BatchNorm<B>,
    /// Projection shortcut where the stride or the width changes, else identity.
    pub downsample: Option<Downsample<B>>,
}

impl BottleneckConfig {
    /// Output channels of the block.
    pub fn out_channels(&self) -> usize {
        self.planes * EXPANSION
    }

    /// Initialises the block on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Bottleneck<B> {
        let out = self.out_channels();
        let downsample = (self.stride != 1 || self.in_channels != out).then(|| {
            DownsampleConfig::new(self.in_channels, out)
                .with_stride(self.stride)
                .init(device)
        });
        Bottleneck {
            conv1: conv1x1(self.in_channels, self.planes, 1).init(device),
            bn1: BatchNormConfig::new(self.planes).init(device),
            conv2: conv3x3(self.planes, self.planes, self.stride).init(device),
            bn2: BatchNormConfig::new(self.planes).init(device),
            conv3: conv1x1(self.planes, out, 1).init(device),
            bn3: BatchNormConfig::new(out).init(device),
            downsample,
        }
    }
}

impl<B: Backend> Bottleneck<B> {
    /// Applies the block.
    ///
    /// # Shapes
    /// - input: `[batch, in_channels, height, width]`
    /// - output: `[batch, 4 * planes, ceil(height / stride), ceil(width / stride)]`
    pub fn forward(&self, input: Tensor<B, 4>) -> Tensor<B, 4> {
        let identity = shortcut(&self.downsample, input.clone());
        let x = batch_norm_relu(&self.bn1, conv2d(&self.conv1, input));
        let x = batch_norm_relu(&self.bn2, conv2d(&self.conv2, x));
        batch_norm_add_relu(&self.bn3, conv2d(&self.conv3, x), identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TestBackend;

    #[test]
    fn first_block_of_a_stage_widens_by_four() {
        let device = Default::default();
        // layer1's first block of ResNet-50: 64 in, 64 planes, 256 out, stride 1;
        // the width changes, so torchvision adds a downsample.
        let block = BottleneckConfig::new(64, 64).init::<TestBackend>(&device);
        assert!(block.downsample.is_some());
        let input = Tensor::<TestBackend, 4>::ones([1, 64, 5, 5], &device);
        assert_eq!(block.forward(input).dims(), [1, 256, 5, 5]);
    }

    #[test]
    fn later_blocks_keep_width_without_projection() {
        let device = Default::default();
        let block = BottleneckConfig::new(32, 8).init::<TestBackend>(&device);
        // 8 planes * 4 = 32 = in_channels and stride 1: identity shortcut.
        assert!(block.downsample.is_none());
        let input = Tensor::<TestBackend, 4>::ones([2, 32, 3, 3], &device);
        assert_eq!(block.forward(input).dims(), [2, 32, 3, 3]);
    }

    #[test]
    fn stride_sits_on_the_three_by_three() {
        let device = Default::default();
        let block = BottleneckConfig::new(16, 8)
            .with_stride(2)
            .init::<TestBackend>(&device);
        // torchvision v1.5: conv1 1x1 stride 1, conv2 3x3 stride 2.
        assert_eq!(block.conv1.stride, [1, 1]);
        assert_eq!(block.conv2.stride, [2, 2]);
        let input = Tensor::<TestBackend, 4>::ones([1, 16, 7, 7], &device);
        // floor((7 + 2 - 3) / 2) + 1 = 4.
        assert_eq!(block.forward(input).dims(), [1, 32, 4, 4]);
    }
}
