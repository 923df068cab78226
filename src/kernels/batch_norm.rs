//! Batch norm: training as one operation, inference as burn's.

use burn::nn::BatchNorm;
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::flex;

/// A batch normalised with its own statistics.
pub(super) struct Normalised<B: Backend> {
    /// `[batch, channels, plane]`.
    pub output: Tensor<B, 3>,
    /// `[channels]`, without gradient.
    pub mean: Tensor<B, 1>,
    /// `[channels]`, biased (÷ count, as used to normalise), without gradient.
    pub variance: Tensor<B, 1>,
}

/// What follows a batch norm inside the same operation.
pub(super) enum After<B: Backend> {
    Nothing,
    Relu,
    /// `relu(batch norm + residual)`, the residual `[batch, channels, plane]`.
    AddRelu(Tensor<B, 3>),
}

/// `norm.forward(input)`, with training-mode batch norm computed as one
/// operation: each channel's mean and biased variance over the batch and the
/// spatial positions, `(x − mean) / sqrt(variance + ε) · γ + β`, and the
/// running statistics updated as PyTorch does (`momentum`, and the
/// *unbiased* variance, × count / (count − 1), for the running estimate;
/// burn_nn 0.21 keeps the biased one there). Inference (a backend without
/// autodiff, or `valid()`) is burn's own, from the running statistics.
///
/// # Shapes
/// - input and output: `[batch, channels, ...]`
pub fn batch_norm<B: Backend, const D: usize>(
    norm: &BatchNorm<B>,
    input: Tensor<B, D>,
) -> Tensor<B, D> {
    normalise_with(norm, input, |norm, input| {
        flex::batch_norm_train(norm, input, &After::Nothing)
            .unwrap_or_else(|input| composed(norm, input))
    })
}

/// `relu(batch_norm(norm, input))`, on flex in training as the same one
/// operation (the ReLU applied in the normalising pass, its mask in the
/// backward pass), which saves two passes over the activations.
pub fn batch_norm_relu<B: Backend, const D: usize>(
    norm: &BatchNorm<B>,
    input: Tensor<B, D>,
) -> Tensor<B, D> {
    if !B::ad_enabled(&input.device()) {
        return relu(norm.forward(input));
    }
    normalise_with(norm, input, |norm, input| {
        flex::batch_norm_train(norm, input, &After::Relu)
            .unwrap_or_else(|input| composed_relu(norm, input))
    })
}

/// `relu(batch_norm(norm, input) + residual)`, the end of a residual block;
/// on flex in training one operation, as [`batch_norm_relu`], whose
/// backward pass also hands the residual its gradient.
///
/// # Shapes
/// - input, residual and output: `[batch, channels, ...]`
pub fn batch_norm_add_relu<B: Backend, const D: usize>(
    norm: &BatchNorm<B>,
    input: Tensor<B, D>,
    residual: Tensor<B, D>,
) -> Tensor<B, D> {
    if !B::ad_enabled(&input.device()) {
        return relu(norm.forward(input) + residual);
    }
    normalise_with(norm, input, |norm, input| {
        let residual = residual.reshape(input.dims());
        let after = After::AddRelu(residual.clone());
        flex::batch_norm_train(norm, input, &after)
            .unwrap_or_else(|input| composed_add_relu(norm, input, residual))
    })
}

/// [`batch_norm`] with `train` normalising a `[batch, channels, plane]` batch.
pub(super) fn normalise_with<B: Backend, const D: usize>(
    norm: &BatchNorm<B>,
    input: Tensor<B, D>,
    train: impl FnOnce(&BatchNorm<B>, Tensor<B, 3>) -> Normalised<B>,
) -> Tensor<B, D> {
    if !B::ad_enabled(&input.device()) {
        return norm.forward(input);
    }
    let dims = input.dims();
    let (batch, channels) = (dims[0], dims[1]);
    let plane: usize = dims[2..].iter().product();
    let input = input.reshape([batch, channels, plane]);
    let normalised = train(norm, input);
    update_running_statistics(norm, &normalised, batch * plane);
    normalised.output.reshape(dims)
}

/// The same maths from burn tensor operations, for every other backend:
/// four full-size operations and no transposed copies.
pub(super) fn composed<B: Backend>(norm: &BatchNorm<B>, input: Tensor<B, 3>) -> Normalised<B> {
    let channels = input.dims()[1];
    let mean = input.clone().mean_dims(&[0, 2]);
    let centred = input - mean.clone();
    let variance = centred.clone().square().mean_dims(&[0, 2]);
    let scale = norm.gamma.val().reshape([1, channels, 1])
        / variance.clone().add_scalar(norm.epsilon).sqrt();
    let output = centred * scale + norm.beta.val().reshape([1, channels, 1]);
    Normalised {
        output,
        mean: mean.detach().reshape([channels]),
        variance: variance.detach().reshape([channels]),
    }
}

/// [`composed`] followed by a ReLU.
pub(super) fn composed_relu<B: Backend>(norm: &BatchNorm<B>, input: Tensor<B, 3>) -> Normalised<B> {
    let normalised = composed(norm, input);
    Normalised {
        output: relu(normalised.output),
        ..normalised
    }
}

/// [`composed`], plus `residual`, then a ReLU.
pub(super) fn composed_add_relu<B: Backend>(
    norm: &BatchNorm<B>,
    input: Tensor<B, 3>,
    residual: Tensor<B, 3>,
) -> Normalised<B> {
    let normalised = composed(norm, input);
    Normalised {
        output: relu(normalised.output + residual),
        ..normalised
    }
}

/// `running ← (1 − momentum) · running + momentum · batch`, through the
/// same `value_sync` / `update` calls as burn_nn (so data-parallel peers
/// average their running statistics the same way).
fn update_running_statistics<B: Backend>(norm: &BatchNorm<B>, batch: &Normalised<B>, count: usize) {
    let device = batch.mean.device();
    let momentum = norm.momentum;
    let unbiased = if count > 1 {
        count as f64 / (count - 1) as f64
    } else {
        1.0
    };
    let running_mean = norm.running_mean.value_sync().to_device(&device);
    let running_var = norm.running_var.value_sync().to_device(&device);
    let running_mean =
        running_mean.mul_scalar(1.0 - momentum) + batch.mean.clone().mul_scalar(momentum);
    let running_var = running_var.mul_scalar(1.0 - momentum)
        + batch.variance.clone().mul_scalar(momentum * unbiased);
    norm.running_mean.update(running_mean.detach());
    norm.running_var.update(running_var.detach());
}
