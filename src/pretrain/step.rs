//! One optimisation step and the learning-rate schedule, as the baselines
//! train: SGD with momentum 0.9 and weight decay 1e-4, `lr = base · batch /
//! 256`, cosine decay to 0 over the run, per step.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, Optimizer, SgdConfig};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};
use serde::{Deserialize, Serialize};

use super::method::{Batch, Pretrain};

/// SGD momentum of every baseline.
pub const MOMENTUM: f64 = 0.9;
/// Weight decay of every baseline (SimSiam, MoCo v2; SimCLR's paper uses
/// 1e-6 with LARS, which burn does not have).
pub const WEIGHT_DECAY: f32 = 1e-4;

/// The baselines' optimiser: SGD, momentum 0.9, weight decay 1e-4, as
/// PyTorch's `torch.optim.SGD` that their code uses: the velocity is
/// `0.9 · v + g`, so the dampening is 0 (burn's `MomentumConfig` defaults to
/// 0.1, which scales every gradient after the first step by 0.9).
pub fn sgd() -> SgdConfig {
    let momentum = MomentumConfig::new()
        .with_momentum(MOMENTUM)
        .with_dampening(0.0);
    SgdConfig::new()
        .with_momentum(Some(momentum))
        .with_weight_decay(Some(WeightDecayConfig::new(WEIGHT_DECAY)))
}

/// The learning rate at `step` of `total` (0-based): `peak · ½(1 + cos(π ·
/// step / total))`.
pub fn cosine_learning_rate(peak: f64, step: u64, total: u64) -> f64 {
    let progress = step as f64 / total.max(1) as f64;
    peak * 0.5 * (1.0 + (core::f64::consts::PI * progress).cos())
}

/// The losses of one step, read back from the device.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepLosses {
    pub method: f64,
    /// `None` when SPD is off.
    pub spd: Option<f64>,
    /// `method + η · spd`.
    pub total: f64,
}

/// A step's gradients and what it read, before the optimiser's update.
/// Data-parallel training averages `grads` and pools `memory` across its
/// peers between [`step_gradients`] and [`apply_step`].
pub struct StepGradients<B: AutodiffBackend> {
    pub grads: GradientsParams,
    pub losses: StepLosses,
    /// The batch's [`Losses::memory`](super::Losses::memory).
    pub memory: Option<Tensor<B, 2>>,
}

/// The first half of a step: the method's preparation, the forward pass and
/// the backward pass of `L_method + η · L_spd`.
pub fn step_gradients<B, M>(model: M, batch: &Batch<B>, spd_weight: f64) -> (M, StepGradients<B>)
where
    B: AutodiffBackend,
    M: Pretrain<B>,
{
    let model = model.before_step();
    let losses = model.losses(batch);
    let total = losses.total(spd_weight);
    let read = |t: &Tensor<B, 1>| t.clone().into_scalar().elem::<f64>();
    let values = StepLosses {
        method: read(&losses.method),
        spd: losses.spd.as_ref().map(read),
        total: read(&total),
    };
    let grads = GradientsParams::from_grads(total.backward(), &model);
    let step = StepGradients {
        grads,
        losses: values,
        memory: losses.memory,
    };
    (model, step)
}

/// The second half of a step: the model takes in the step's memory and the
/// optimiser applies the gradients at `lr`.
pub fn apply_step<B, M, O>(model: M, optimizer: &mut O, step: StepGradients<B>, lr: f64) -> M
where
    B: AutodiffBackend,
    M: Pretrain<B>,
    O: Optimizer<M, B>,
{
    if let Some(memory) = step.memory {
        model.remember(memory);
    }
    optimizer.step(lr, model, step.grads)
}

/// Runs one step on one device: [`step_gradients`], then [`apply_step`].
pub fn train_step<B, M, O>(
    model: M,
    optimizer: &mut O,
    batch: &Batch<B>,
    spd_weight: f64,
    lr: f64,
) -> (M, StepLosses)
where
    B: AutodiffBackend,
    M: Pretrain<B>,
    O: Optimizer<M, B>,
{
    let (model, step) = step_gradients(model, batch, spd_weight);
    let losses = step.losses;
    (apply_step(model, optimizer, step, lr), losses)
}
