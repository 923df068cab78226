//! The kernels against burn's own composed operations (burn_nn's
//! `BatchNorm`, burn's `conv2d`) on random tensors of awkward shapes:
//! forward values and every gradient, at 1e-5 relative to each tensor's scale.
//!
//! The checks are generic over the autodiff backend. They run on
//! `Autodiff<Flex>` (the native kernels) always, and with the `wgpu` feature
//! also on `Autodiff<Wgpu>` (module [`wgpu`]), where the same public functions
//! take the composed batch norm and burn's own convolution.

use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, Tensor};

use super::batch_norm::{composed, composed_add_relu, composed_relu, normalise_with};
use super::{batch_norm, batch_norm_add_relu, batch_norm_relu, conv2d};

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

fn random_norm<B: Backend>(channels: usize, device: &B::Device) -> BatchNorm<B> {
    let mut norm = BatchNormConfig::new(channels).init::<B>(device);
    norm.gamma = Param::from_tensor(random([channels], device));
    norm.beta = Param::from_tensor(random([channels], device));
    norm
}

/// Which of our batch norms [`check_batch_norm`] compares with burn's. The
/// public functions are what the model calls: the flex node on flex, the
/// composition on every other backend.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ours {
    /// [`batch_norm`].
    Node,
    /// The composition every other backend runs.
    Composed,
    /// [`batch_norm_relu`]: on flex the node with the ReLU folded in.
    NodeRelu,
    /// The composition followed by a ReLU.
    ComposedRelu,
    /// [`batch_norm_add_relu`]: on flex the node with a residual added
    /// before the ReLU.
    NodeAddRelu,
    /// The composition, the residual, the ReLU.
    ComposedAddRelu,
}

fn check_batch_norm<B: AutodiffBackend, const D: usize>(
    device: &B::Device,
    dims: [usize; D],
    which: Ours,
) {
    B::seed(device, dims.iter().sum::<usize>() as u64);
    let norm = random_norm::<B>(dims[1], device);
    // Not `norm.clone()`: clones share their running statistics.
    let mut reference = BatchNormConfig::new(dims[1]).init::<B>(device);
    reference.gamma = Param::from_tensor(norm.gamma.val().detach().require_grad());
    reference.beta = Param::from_tensor(norm.beta.val().detach().require_grad());
    let input = random::<B, D>(dims, device);
    let residual = random::<B, D>(dims, device);
    let weights = random::<B, D>(dims, device);
    type Forward<'a, B, const D: usize> = &'a dyn Fn(Tensor<B, D>, Tensor<B, D>) -> Tensor<B, D>;
    let run = |forward: Forward<B, D>, norm: &BatchNorm<B>| {
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

/// The public functions (on flex the nodes) and the composition every other
/// backend runs, each alone, with a ReLU after it, and with a residual added
/// before the ReLU.
fn batch_norm_matches_burns<B: AutodiffBackend>(device: &B::Device) {
    for which in [
        Ours::Node,
        Ours::Composed,
        Ours::NodeRelu,
        Ours::ComposedRelu,
        Ours::NodeAddRelu,
        Ours::ComposedAddRelu,
    ] {
        check_batch_norm::<B, 4>(device, [4, 5, 3, 3], which);
        check_batch_norm::<B, 4>(device, [1, 3, 5, 7], which);
        check_batch_norm::<B, 4>(device, [3, 17, 6, 5], which);
        // Not 2 values a channel: two normalised values are ±1 whatever the
        // input, so the input gradient is rounding noise on both sides.
        check_batch_norm::<B, 4>(device, [5, 13, 1, 1], which);
        check_batch_norm::<B, 4>(device, [32, 130, 2, 2], which);
        check_batch_norm::<B, 2>(device, [8, 7], which);
    }
}

fn conv<B: Backend>(
    channels: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: PaddingConfig2d,
    bias: bool,
    device: &B::Device,
) -> Conv2d<B> {
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
        // 3×3 at stride 1 with 64 channels or more on planes 7 or more
        // wide: Winograd.
        ([2, 64, 7, 8], 65, [3, 3], [1, 1], Explicit(1, 1, 1, 1)),
        ([1, 70, 9, 9], 64, [3, 3], [1, 1], Valid),
    ]
}

fn convolution_matches_burns<B: AutodiffBackend>(device: &B::Device) {
    for (case, (dims, out, kernel, stride, padding)) in convolutions().into_iter().enumerate() {
        B::seed(device, case as u64);
        let conv = conv::<B>([dims[1], out], kernel, stride, padding, false, device);
        let input = random::<B, 4>(dims, device);
        let weights_shape = conv.forward(input.clone()).dims();
        let weights = random::<B, 4>(weights_shape, device);
        for input_needs_grad in [true, false] {
            let run = |forward: &dyn Fn(Tensor<B, 4>) -> Tensor<B, 4>| {
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

/// On the backend without autodiff (inference), with a bias.
fn inference_convolution_matches_burns<B: AutodiffBackend>(device: &B::Device) {
    for (case, (dims, out, kernel, stride, padding)) in convolutions().into_iter().enumerate() {
        B::seed(device, 100 + case as u64);
        let conv = conv::<B>([dims[1], out], kernel, stride, padding, true, device).valid();
        let input = random::<B::InnerBackend, 4>(dims, device);
        assert_close(
            &format!("{dims:?} with bias"),
            conv2d(&conv, input.clone()),
            conv.forward(input),
        );
    }
}

type Trainable = Autodiff<Flex>;

#[test]
fn batch_norm_matches_burns_forward_gradients_and_running_statistics() {
    batch_norm_matches_burns::<Trainable>(&Default::default());
}

#[test]
fn convolution_matches_burns_forward_and_gradients() {
    convolution_matches_burns::<Trainable>(&Default::default());
}

#[test]
fn inference_convolution_with_bias_matches_burns() {
    inference_convolution_matches_burns::<Trainable>(&Default::default());
}

/// The same checks on `Autodiff<Wgpu>` with Vulkan (`just
/// test-kernels-wgpu`), where the public functions take the composed batch
/// norm and burn's own convolution. Without a Vulkan adapter each test prints
/// why and passes.
#[cfg(feature = "wgpu")]
mod wgpu {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::OnceLock;

    use burn::backend::wgpu::{graphics::Vulkan, init_setup, RuntimeOptions, Wgpu, WgpuDevice};
    use burn::backend::Autodiff;

    type Trainable = Autodiff<Wgpu>;

    /// The default wgpu device set up on Vulkan, with its adapter's
    /// description, or why there is none. Set up once per process, before
    /// any tensor reaches the device (which would pick an adapter itself).
    fn vulkan() -> &'static Result<(WgpuDevice, String), String> {
        static SETUP: OnceLock<Result<(WgpuDevice, String), String>> = OnceLock::new();
        SETUP.get_or_init(|| {
            let device = WgpuDevice::default();
            // Without a Vulkan loader, driver or adapter, wgpu panics here
            // (after the hook prints the message); it returns at once.
            let setup = catch_unwind(AssertUnwindSafe(|| {
                init_setup::<Vulkan>(&device, RuntimeOptions::default())
            }));
            match setup {
                Ok(setup) => {
                    let info = setup.adapter.get_info();
                    let adapter = format!(
                        "{} ({:?}, {:?}, driver {} {})",
                        info.name, info.device_type, info.backend, info.driver, info.driver_info
                    );
                    Ok((device, adapter))
                }
                Err(panic) => Err(panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "wgpu panicked while choosing an adapter".into())),
            }
        })
    }

    /// Runs `check` on the Vulkan device, or prints why it cannot.
    fn on_vulkan(test: &str, check: fn(&WgpuDevice)) {
        match vulkan() {
            Ok((device, adapter)) => {
                println!("{test}: wgpu on {adapter}");
                check(device);
            }
            Err(why) => println!("{test}: SKIPPED, no Vulkan adapter for wgpu: {why}"),
        }
    }

    #[test]
    fn batch_norm_matches_burns_on_wgpu() {
        on_vulkan(
            "batch_norm_matches_burns_on_wgpu",
            super::batch_norm_matches_burns::<Trainable>,
        );
    }

    #[test]
    fn convolution_matches_burns_on_wgpu() {
        on_vulkan(
            "convolution_matches_burns_on_wgpu",
            super::convolution_matches_burns::<Trainable>,
        );
    }

    #[test]
    fn inference_convolution_with_bias_matches_burns_on_wgpu() {
        on_vulkan(
            "inference_convolution_with_bias_matches_burns_on_wgpu",
            super::inference_convolution_matches_burns::<Trainable>,
        );
    }
}
