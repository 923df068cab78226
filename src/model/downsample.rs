//! The projection shortcut of a residual block (He et al. 2016, option B).

use burn::config::Config;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{s, Tensor};

use super::conv::conv1x1;
use crate::kernels::{batch_norm, conv2d_or_else};

/// torchvision's `downsample = nn.Sequential(conv1x1, BatchNorm2d)`.
///
/// A tuple, so that burn names its parameters `downsample.0.weight`,
/// `downsample.1.running_mean`, … exactly as the `Sequential` does and
/// torchvision weights need no renaming.
pub type Downsample<B> = (Conv2d<B>, BatchNorm<B>);

/// Configuration of a [`Downsample`]: a strided 1×1 convolution without bias
/// and a batch norm, used where a block changes resolution or width.
#[derive(Config, Debug)]
pub struct DownsampleConfig {
    /// Channels coming in.
    pub in_channels: usize,
    /// Channels going out (the block's output width).
    pub out_channels: usize,
    /// Stride of the block (1 or 2).
    #[config(default = 1)]
    pub stride: usize,
}

impl DownsampleConfig {
    /// Initialises the shortcut on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Downsample<B> {
        (
            conv1x1(self.in_channels, self.out_channels, self.stride).init(device),
            BatchNormConfig::new(self.out_channels).init(device),
        )
    }
}

/// The shortcut branch of a block: `input` itself, or its projection.
///
/// # Shapes
/// - input: `[batch, in_channels, height, width]`
/// - output: `[batch, out_channels, ceil(height / stride), ceil(width / stride)]`
pub(crate) fn shortcut<B: Backend>(
    downsample: &Option<Downsample<B>>,
    input: Tensor<B, 4>,
) -> Tensor<B, 4> {
    match downsample {
        Some((conv, bn)) => batch_norm(bn, pointwise(conv, input)),
        None => input,
    }
}

/// A 1×1 convolution without padding. On flex the native kernel computes
/// it directly; elsewhere it is computed as the subsampled grid followed by
/// a stride-1 convolution: the same sums, so the same result.
///
/// Why not `conv.forward` there: burn 0.21's wgpu backend returns a wrong input
/// gradient for a strided 1×1 convolution (docs/BENCHMARKS.md, "wgpu on
/// lavapipe"), and the subsampled form also skips the pixels the stride
/// would discard.
///
/// # Shapes
/// - input: `[batch, in_channels, height, width]`
/// - output: `[batch, out_channels, ceil(height / stride), ceil(width / stride)]`
pub(crate) fn pointwise<B: Backend>(conv: &Conv2d<B>, input: Tensor<B, 4>) -> Tensor<B, 4> {
    debug_assert_eq!(
        conv.kernel_size,
        [1, 1],
        "only a 1×1 convolution subsamples exactly"
    );
    conv2d_or_else(conv, input, |input| {
        let [stride_h, stride_w] = conv.stride;
        let input = if stride_h == 1 && stride_w == 1 {
            input
        } else {
            input.slice(s![.., .., ..;stride_h as isize, ..;stride_w as isize])
        };
        conv2d(
            input,
            conv.weight.val(),
            conv.bias.as_ref().map(|bias| bias.val()),
            ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TestBackend;

    #[test]
    fn projects_and_halves_the_grid() {
        let device = Default::default();
        let downsample = DownsampleConfig::new(8, 32)
            .with_stride(2)
            .init::<TestBackend>(&device);
        let input = Tensor::<TestBackend, 4>::zeros([2, 8, 9, 6], &device);
        // 1x1 kernel, no padding, stride 2: floor((9 - 1) / 2) + 1 = 5,
        // floor((6 - 1) / 2) + 1 = 3.
        let output = shortcut(&Some(downsample), input);
        assert_eq!(output.dims(), [2, 32, 5, 3]);
    }

    #[test]
    fn subsampled_projection_equals_the_strided_convolution() {
        let device = Default::default();
        let conv = conv1x1(3, 4, 2).init::<TestBackend>(&device);
        let input = Tensor::<TestBackend, 4>::random(
            [2, 3, 7, 6],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let expected = conv.forward(input.clone());
        let output = pointwise(&conv, input);
        assert_eq!(output.dims(), [2, 4, 4, 3]);
        output.into_data().assert_approx_eq::<f32>(
            &expected.into_data(),
            burn::tensor::Tolerance::absolute(1e-6),
        );
    }

    #[test]
    fn identity_without_projection() {
        let device = Default::default();
        let input = Tensor::<TestBackend, 4>::ones([1, 4, 3, 3], &device);
        let output = shortcut(&None, input.clone());
        output.into_data().assert_eq(&input.into_data(), true);
    }
}
