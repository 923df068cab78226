//! 2-D max pooling through the native kernels where they apply.

use burn::nn::pool::MaxPool2d;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::flex;

/// `pool.forward(input)`, on flex by the native kernels (one autodiff node
/// in training), elsewhere by burn's own pooling.
///
/// # Shapes
/// - input: `[batch, channels, height, width]`
/// - output: `[batch, channels, out_height, out_width]`
pub fn max_pool2d<B: Backend>(pool: &MaxPool2d, input: Tensor<B, 4>) -> Tensor<B, 4> {
    match flex::max_pool2d(pool, input) {
        Ok(output) => output,
        Err(input) => pool.forward(input),
    }
}

#[cfg(all(test, not(target_family = "wasm")))]
mod tests {
    use burn::backend::{Autodiff, Flex};
    use burn::nn::pool::MaxPool2dConfig;
    use burn::nn::PaddingConfig2d;
    use burn::tensor::{Distribution, Tensor};

    use super::*;

    /// Input dims, kernel, stride, padding (top and bottom, left and right).
    type Case = ([usize; 4], [usize; 2], [usize; 2], [usize; 2]);

    fn cases() -> Vec<Case> {
        vec![
            // The ResNet stem's pooling, on odd and even sizes.
            ([2, 5, 7, 6], [3, 3], [2, 2], [1, 1]),
            ([3, 17, 8, 8], [3, 3], [2, 2], [1, 1]),
            ([1, 3, 9, 9], [3, 3], [1, 1], [1, 1]),
            ([3, 4, 8, 8], [2, 2], [2, 2], [0, 0]),
            ([2, 3, 5, 7], [3, 3], [2, 2], [0, 0]),
            ([1, 6, 6, 5], [3, 2], [1, 2], [1, 0]),
            // A 1×1 plane: every window but its centre is padding.
            ([2, 2, 1, 1], [3, 3], [2, 2], [1, 1]),
        ]
    }

    fn pool([kernel, stride, [pad_h, pad_w]]: [[usize; 2]; 3]) -> MaxPool2d {
        MaxPool2dConfig::new(kernel)
            .with_strides(stride)
            .with_padding(PaddingConfig2d::Explicit(pad_h, pad_w, pad_h, pad_w))
            .init()
    }

    fn values<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
        tensor.into_data().to_vec::<f32>().unwrap()
    }

    /// Pooling selects values and its gradient adds them up in burn's
    /// order, so both equal burn's exactly, not to a tolerance.
    #[test]
    fn training_values_and_gradients_equal_burns() {
        type B = Autodiff<Flex>;
        let device = Default::default();
        for (dims, kernel, stride, padding) in cases() {
            let pool = pool([kernel, stride, padding]);
            let input = Tensor::<B, 4>::random(dims, Distribution::Normal(0.0, 1.0), &device);
            let weights = Tensor::<B, 4>::random(
                pool.forward(input.clone()).dims(),
                Distribution::Normal(0.0, 1.0),
                &device,
            );
            let run = |forward: &dyn Fn(Tensor<B, 4>) -> Tensor<B, 4>| {
                let input = input.clone().detach().require_grad();
                let output = forward(input.clone());
                let grads = (output.clone() * weights.clone()).sum().backward();
                (values(output), values(input.grad(&grads).unwrap()))
            };
            let ours = run(&|x| max_pool2d(&pool, x));
            let burns = run(&|x| pool.forward(x));
            assert_eq!(ours.0, burns.0, "{dims:?}, kernel {kernel:?}: values");
            assert_eq!(
                ours.1, burns.1,
                "{dims:?}, kernel {kernel:?}: input gradient"
            );
        }
    }

    /// Ties (a ReLU's zeros) go to the first of the window, as in burn.
    #[test]
    fn ties_send_the_gradient_where_burn_sends_it() {
        type B = Autodiff<Flex>;
        let device = Default::default();
        let pool = pool([[3, 3], [2, 2], [1, 1]]);
        let input = Tensor::<B, 4>::random([2, 3, 9, 8], Distribution::Normal(0.0, 1.0), &device)
            .clamp_min(0.0)
            .detach();
        let run = |forward: &dyn Fn(Tensor<B, 4>) -> Tensor<B, 4>| {
            let input = input.clone().require_grad();
            let grads = forward(input.clone()).sum().backward();
            values(input.grad(&grads).unwrap())
        };
        assert_eq!(run(&|x| max_pool2d(&pool, x)), run(&|x| pool.forward(x)));
    }

    #[test]
    fn inference_values_equal_burns() {
        let device = Default::default();
        for (dims, kernel, stride, padding) in cases() {
            let pool = pool([kernel, stride, padding]);
            let input = Tensor::<Flex, 4>::random(dims, Distribution::Normal(0.0, 1.0), &device);
            assert_eq!(
                values(max_pool2d(&pool, input.clone())),
                values(pool.forward(input)),
                "{dims:?}, kernel {kernel:?}"
            );
        }
    }
}
