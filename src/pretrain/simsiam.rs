//! SimSiam (Chen & He, "Exploring Simple Siamese Representation Learning",
//! CVPR 2021) with the SPD term of SPEC "SPD pre-training".

use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;

use super::config::{PretrainConfig, PretrainError};
use super::loss::{simsiam_loss, spd_simsiam_loss};
use super::method::{Batch, Losses, Pretrain};
use super::mlp::{Mlp, MlpConfig};
use crate::model::ResNet;

/// Backbone, 3-layer projector (batch norm after every layer) and the
/// bottleneck predictor.
#[derive(Module, Debug)]
pub struct SimSiam<B: Backend> {
    pub backbone: ResNet<B>,
    /// `features → dim → dim → dim`.
    pub projector: Mlp<B>,
    /// `dim → dim / 4 → dim`.
    pub predictor: Mlp<B>,
}

impl<B: Backend> SimSiam<B> {
    pub fn init(config: &PretrainConfig, device: &B::Device) -> Result<Self, PretrainError> {
        config.check()?;
        let features = config.feature_dim()?;
        let (dim, bottleneck) = config.simsiam_dims();
        Ok(SimSiam {
            backbone: config.backbone.init(device)?,
            projector: MlpConfig::new(vec![features, dim, dim, dim])
                .with_output_batch_norm(true)
                .init(device),
            predictor: MlpConfig::new(vec![dim, bottleneck, dim]).init(device),
        })
    }

    /// The projection `z` and prediction `p` of a view.
    ///
    /// # Shapes
    /// - input: `[batch, 3, h, w]`; outputs: `[batch, dim]` each
    pub fn project(&self, view: Tensor<B, 4>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let z = self.projector.forward(self.backbone.pooled(view));
        let p = self.predictor.forward(z.clone());
        (z, p)
    }
}

impl<B: AutodiffBackend> Pretrain<B> for SimSiam<B> {
    fn losses(&self, batch: &Batch<B>) -> Losses<B> {
        let (z1, p1) = self.project(batch.views[0].clone());
        let (z2, p2) = self.project(batch.views[1].clone());
        let spd = batch.spd.as_ref().map(|views| {
            let [(z_a, p_a), (z_b, p_b), (z_n, p_n)] = views.clone().map(|v| self.project(v));
            spd_simsiam_loss([p_a, p_b, p_n], [z_a, z_b, z_n])
        });
        Losses {
            method: simsiam_loss(p1, p2, z1, z2),
            spd,
            memory: None,
        }
    }

    fn backbone(&self) -> &ResNet<B> {
        &self.backbone
    }
}
