//! SimCLR (Chen et al., "A Simple Framework for Contrastive Learning of
//! Visual Representations", ICML 2020) with the SPD term: NT-Xent of the
//! weak views `a`, `b` with the SmoothBlend view `n` as one more negative.

use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;

use super::config::{PretrainConfig, PretrainError};
use super::loss::nt_xent;
use super::method::{Batch, Losses, Pretrain};
use super::mlp::{Mlp, MlpConfig};
use crate::model::ResNet;

/// SimCLR's projection size (its paper: 128).
pub const SIMCLR_DIM: usize = 128;

/// Backbone and the 2-layer projection head `features → features → 128`.
#[derive(Module, Debug)]
pub struct SimClr<B: Backend> {
    pub backbone: ResNet<B>,
    pub head: Mlp<B>,
    pub temperature: f64,
}

impl<B: Backend> SimClr<B> {
    pub fn init(config: &PretrainConfig, device: &B::Device) -> Result<Self, PretrainError> {
        config.check()?;
        let features = config.feature_dim()?;
        Ok(SimClr {
            backbone: config.backbone.init(device)?,
            head: MlpConfig::new(vec![features, features, SIMCLR_DIM])
                .with_hidden_batch_norm(false)
                .init(device),
            temperature: config.simclr_temperature,
        })
    }

    /// # Shapes
    /// - input: `[batch, 3, h, w]`; output: `[batch, 128]`
    pub fn embed(&self, view: Tensor<B, 4>) -> Tensor<B, 2> {
        self.head.forward(self.backbone.pooled(view))
    }
}

impl<B: AutodiffBackend> Pretrain<B> for SimClr<B> {
    fn losses(&self, batch: &Batch<B>) -> Losses<B> {
        let z1 = self.embed(batch.views[0].clone());
        let z2 = self.embed(batch.views[1].clone());
        let spd = batch.spd.as_ref().map(|views| {
            let [a, b, n] = views.clone().map(|v| self.embed(v));
            nt_xent(a, b, Some(n), self.temperature)
        });
        Losses {
            method: nt_xent(z1, z2, None, self.temperature),
            spd,
            memory: None,
        }
    }

    fn backbone(&self) -> &ResNet<B> {
        &self.backbone
    }
}
