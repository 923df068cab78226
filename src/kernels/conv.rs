//! 2-D convolution through the native kernels where they apply.

use burn::nn::conv::Conv2d;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::flex;

/// `conv.forward(input)`, on flex by the native kernels (one autodiff node
/// in training), elsewhere by burn's own convolution.
///
/// # Shapes
/// - input: `[batch, in_channels, height, width]`
/// - output: `[batch, out_channels, out_height, out_width]`
pub fn conv2d<B: Backend>(conv: &Conv2d<B>, input: Tensor<B, 4>) -> Tensor<B, 4> {
    conv2d_or_else(conv, input, |input| conv.forward(input))
}

/// As [`conv2d`], with `otherwise` computing the same convolution where the
/// native kernels do not apply (for a caller that works around a backend).
pub fn conv2d_or_else<B: Backend>(
    conv: &Conv2d<B>,
    input: Tensor<B, 4>,
    otherwise: impl FnOnce(Tensor<B, 4>) -> Tensor<B, 4>,
) -> Tensor<B, 4> {
    match flex::conv2d(conv, input) {
        Ok(output) => output,
        Err(input) => otherwise(input),
    }
}
