//! The kernels against burn's own composed operations (burn_nn's
//! `BatchNorm`, burn's `conv2d`) on random tensors of awkward shapes:
//! forward values and every gradient, at 1e-5 relative to each tensor's scale.

use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::backend::Backend;
use burn::tensor::{Device, Distribution, Tensor};

use super::batch_norm::{composed, composed_add_relu, composed_relu, normalise_with};
use super::{batch_norm, batch_norm_add_relu, batch_norm_relu, conv2d};

type Trainable = Autodiff<Flex>;

const TOLERANCE: f32 = 1e-5;

/// `|a − b| ≤ 1e-5 · (|b| + max |b|)` element by element.
fn assert_close<B: Backend, const D: usize>(what: &str, got: Tensor<B, D>, want: Tensor<B, D>) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    let got = got.into_data().to_vec::<f32>().unwrap();
    let want = want.into_data().to_vec::<f32>().unwrap();
    let scale = want.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!(
            (a - b).abs() <= TOLERANCE * (b.abs() + scale),
            "{what}[{i}]: {a} vs burn's {b} (scale {scale})"
        );
    }
}

fn random<B: Backend, const D: usize>(dims: [usize; D], device: &B::Device) -> Tensor<B, D> {
    Tensor::random(dims, Distribution::Normal(0.5, 2.0), device)
}

fn random_norm(channels: usize, device: &Device<Trainable>) -> BatchNorm<Trainable> {
    let mut norm = BatchNormConfig::new(channels).init::<Trainable>(device);
    norm.gamma = Param::from_tensor(random([channels], device));
    norm.beta = Param::from_tensor(random([channels], device));
    norm
}

/// Which of our batch norms [`check_batch_norm`] compares with burn's.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ours {
    /// The flex node.
    Node,
    /// The composition every other backend runs.
    Composed,
    /// The flex node with the ReLU folded in.
    NodeRelu,
    /// The composition followed by a ReLU.
    ComposedRelu,
    /// The flex node with a residual added before the ReLU.
    NodeAddRelu,
    /// The composition, the residual, the ReLU.
    ComposedAddRelu,
}

fn check_batch_norm<const D: usize>(dims: [usize; D], which: Ours) {
    let device = Default::default();
    Trainable::seed(&device, dims.iter().sum::<usize>() as u64);
    let norm = random_norm(dims[1], &device);
    // Not `norm.clone()`: clones share their running statistics.
    let mut reference = BatchNormConfig::new(dims[1]).init::<Trainable>(&device);
    reference.gamma = Param::from_tensor(norm.gamma.val().detach().require_grad());
    reference.beta = Param::from_tensor(norm.beta.val().detach().require_grad());
    let input = random::<Trainable, D>(dims, &device);
    let residual = random::<Trainable, D>(dims, &device);
    let weights = random::<Trainable, D>(dims, &device);
    type Forward<'a, const D: usize> =
        &'a dyn Fn(Tensor<Trainable, D>, Tensor<Trainable, D>) -> Tensor<Trainable, D>;
    let run = |forward: Forward<D>, norm: &BatchNorm<Trainable>| {
        let input = input.clone().detach().require_grad();
        let residual = residual.clone().detach().require_grad();
        let output = forward(input.clone(), residual.clone());
        let grads = (output.clone() * weights.clone()).sum().backward();
        (
            output,
            input.grad(&grads).unwrap(),
            norm.gamma.grad(&grads).unwrap(),
            norm.beta.grad(&grads).unwrap(),
            residual.grad(&grads),
        )
    };
    let ours = match which {
        Ours::Node => run(&|x, _| batch_norm(&norm, x), &norm),
        Ours::Composed => run(&|x, _| normalise_with(&norm, x, composed), &norm),
        Ours::NodeRelu => run(&|x, _| batch_norm_relu(&norm, x), &norm),
        Ours::ComposedRelu => run(&|x, _| normalise_with(&norm, x, composed_relu), &norm),
        Ours::NodeAddRelu => run(&|x, r| batch_norm_add_relu(&norm, x, r), &norm),
        Ours::ComposedAddRelu => run(
            &|x, r| {
                normalise_with(&norm, x, |norm, x| {
                    let r = r.reshape(x.dims());
                    composed_add_relu(norm, x, r)
                })
            },
            &norm,
        ),
    };
    let relu = burn::tensor::activation::relu;
    let burns = match which {
        Ours::Node | Ours::Composed => run(&|x, _| reference.forward(x), &reference),
        Ours::NodeRelu | Ours::ComposedRelu => run(&|x, _| relu(reference.forward(x)), &reference),
        Ours::NodeAddRelu | Ours::ComposedAddRelu => {
            run(&|x, r| relu(reference.forward(x) + r), &reference)
        }
    };
    let what = format!("{dims:?} {which:?}");
    assert_close(&format!("{what} output"), ours.0, burns.0);
    assert_close(&format!("{what} input gradient"), ours.1, burns.1);
    assert_close(&format!("{what} gamma gradient"), ours.2, burns.2);
    assert_close(&format!("{what} beta gradient"), ours.3, burns.3);
    assert_eq!(
        ours.4.is_some(),
        burns.4.is_some(),
        "{what}: residual gradient presence"
    );
    if let (Some(ours), Some(burns)) = (ours.4, burns.4) {
        assert_close(&format!("{what} residual gradient"), ours, burns);
    }
    // Running statistics: burn keeps the biased variance, PyTorch (and we)
    // the unbiased one, count / (count − 1) times larger.
    let count = (dims.iter().product::<usize>() / dims[1]) as f64;
    let momentum = norm.momentum;
    assert_close(
        &format!("{what} running mean"),
        norm.running_mean.value_sync(),
        reference.running_mean.value_sync(),
    );
    let burn_variance = reference
        .running_var
        .value_sync()
        .sub_scalar(1.0 - momentum)
        .mul_scalar(count / (count - 1.0))
        .add_scalar(1.0 - momentum);
    assert_close(
        &format!("{what} running variance"),
        norm.running_var.value_sync(),
        burn_variance,
    );
}

/// The flex node and the composition every other backend runs, each with
/// and without a ReLU after it.
#[test]
fn batch_norm_matches_burns_forward_gradients_and_running_statistics() {
    for which in [
        Ours::Node,
        Ours::Composed,
        Ours::NodeRelu,
        Ours::ComposedRelu,
        Ours::NodeAddRelu,
        Ours::ComposedAddRelu,
    ] {
        check_batch_norm([4, 5, 3, 3], which);
        check_batch_norm([1, 3, 5, 7], which);
        check_batch_norm([3, 17, 6, 5], which);
        // Not 2 values a channel: two normalised values are ±1 whatever the
        // input, so the input gradient is rounding noise on both sides.
        check_batch_norm([5, 13, 1, 1], which);
        check_batch_norm([32, 130, 2, 2], which);
        check_batch_norm([8, 7], which);
    }
}

fn conv(
    channels: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: PaddingConfig2d,
    bias: bool,
    device: &Device<Trainable>,
) -> Conv2d<Trainable> {
    Conv2dConfig::new(channels, kernel)
        .with_stride(stride)
        .with_padding(padding)
        .with_bias(bias)
        .init(device)
}

/// One convolution to test: input dims, output channels, kernel, stride, padding.
type Case = ([usize; 4], usize, [usize; 2], [usize; 2], PaddingConfig2d);

fn convolutions() -> Vec<Case> {
    use PaddingConfig2d::{Explicit, Valid};
    vec![
        ([2, 5, 7, 6], 4, [3, 3], [1, 1], Explicit(1, 1, 1, 1)),
        ([1, 3, 9, 9], 6, [7, 7], [2, 2], Explicit(3, 3, 3, 3)),
        ([3, 13, 5, 5], 7, [1, 1], [1, 1], Valid),
        ([2, 6, 7, 5], 5, [1, 1], [2, 2], Valid),
        ([3, 4, 8, 8], 9, [3, 3], [2, 2], Explicit(1, 1, 1, 1)),
        ([2, 3, 6, 5], 2, [3, 2], [2, 1], Explicit(0, 1, 2, 1)),
        // Stride 1 with the output as wide as the input (one shifted copy
        // per plane), asymmetric; and stride 1 without padding (line by line).
        ([2, 3, 6, 5], 2, [3, 2], [1, 1], Explicit(0, 1, 2, 0)),
        ([2, 3, 6, 5], 4, [3, 3], [1, 1], Valid),
        // A 1×1 grid (layer4 of a 32 px input): most taps only see padding.
        ([3, 5, 1, 1], 6, [3, 3], [1, 1], Explicit(1, 1, 1, 1)),
        ([3, 5, 2, 2], 6, [3, 3], [2, 2], Explicit(1, 1, 1, 1)),
        // 1×1 padded on the far sides only.
        ([2, 3, 4, 3], 2, [1, 1], [1, 1], Explicit(0, 0, 1, 2)),
        // Small grids: several samples share one product.
        ([40, 8, 2, 2], 17, [3, 3], [1, 1], Explicit(1, 1, 1, 1)),
    ]
}

#[test]
fn convolution_matches_burns_forward_and_gradients() {
    let device = Default::default();
    for (case, (dims, out, kernel, stride, padding)) in convolutions().into_iter().enumerate() {
        Trainable::seed(&device, case as u64);
        let conv = conv([dims[1], out], kernel, stride, padding, false, &device);
        let input = random::<Trainable, 4>(dims, &device);
        let weights_shape = conv.forward(input.clone()).dims();
        let weights = random::<Trainable, 4>(weights_shape, &device);
        for input_needs_grad in [true, false] {
            let run = |forward: &dyn Fn(Tensor<Trainable, 4>) -> Tensor<Trainable, 4>| {
                let input = input.clone().detach();
                let input = if input_needs_grad {
                    input.require_grad()
                } else {
                    input
                };
                let output = forward(input.clone());
                let grads = (output.clone() * weights.clone()).sum().backward();
                (
                    output,
                    input.grad(&grads),
                    conv.weight.grad(&grads).unwrap(),
                )
            };
            let ours = run(&|x| conv2d(&conv, x));
            let burns = run(&|x| conv.forward(x));
            let what = format!("{dims:?} → {out}, kernel {kernel:?}, stride {stride:?}");
            assert_close(&format!("{what} output"), ours.0, burns.0);
            assert_eq!(
                ours.1.is_some(),
                input_needs_grad,
                "{what}: input gradient presence"
            );
            if let (Some(ours), Some(burns)) = (ours.1, burns.1) {
                assert_close(&format!("{what} input gradient"), ours, burns);
            }
            assert_close(&format!("{what} weight gradient"), ours.2, burns.2);
        }
    }
}

#[test]
fn inference_convolution_with_bias_matches_burns() {
    let device = Default::default();
    for (case, (dims, out, kernel, stride, padding)) in convolutions().into_iter().enumerate() {
        Trainable::seed(&device, 100 + case as u64);
        let conv = conv([dims[1], out], kernel, stride, padding, true, &device).valid();
        let input = random::<Flex, 4>(dims, &device);
        assert_close(
            &format!("{dims:?} with bias"),
            conv2d(&conv, input.clone()),
            conv.forward(input),
        );
    }
}
