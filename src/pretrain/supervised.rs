//! Supervised pre-training on the data set's object classes, with the SPD
//! term on the pooled features through a small projector: SimSiam's SPD
//! formula with the projector's output as both `p` and `z` (the
//! cross-entropy keeps the features from collapsing, so no predictor).

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;

use super::config::{PretrainConfig, PretrainError};
use super::loss::spd_simsiam_loss;
use super::method::{Batch, Losses, Pretrain};
use super::mlp::{Mlp, MlpConfig};
use crate::model::ResNet;

/// Backbone, a classifier over the object classes and SPD's projector
/// `features → features → features / 4`. The backbone's own `fc` stays
/// torchvision's 1000-way layer, untrained, so the exported weights load
/// wherever a torchvision ResNet does.
#[derive(Module, Debug)]
pub struct Supervised<B: Backend> {
    pub backbone: ResNet<B>,
    /// `features → classes`.
    pub classifier: Linear<B>,
    pub projector: Mlp<B>,
}

impl<B: Backend> Supervised<B> {
    pub fn init(config: &PretrainConfig, device: &B::Device) -> Result<Self, PretrainError> {
        config.check()?;
        let features = config.feature_dim()?;
        Ok(Supervised {
            backbone: config.backbone.init(device)?,
            classifier: LinearConfig::new(features, config.classes).init(device),
            projector: MlpConfig::new(vec![features, features, (features / 4).max(1)]).init(device),
        })
    }

    fn project(&self, view: Tensor<B, 4>) -> Tensor<B, 2> {
        self.projector.forward(self.backbone.pooled(view))
    }
}

impl<B: AutodiffBackend> Pretrain<B> for Supervised<B> {
    fn losses(&self, batch: &Batch<B>) -> Losses<B> {
        let view = &batch.views[0];
        let logits = self.classifier.forward(self.backbone.pooled(view.clone()));
        let method = CrossEntropyLossConfig::new()
            .init(&view.device())
            .forward(logits, batch.labels.clone());
        let spd = batch.spd.as_ref().map(|views| {
            let h = views.clone().map(|v| self.project(v));
            spd_simsiam_loss(h.clone(), h)
        });
        Losses {
            method,
            spd,
            memory: None,
        }
    }

    fn backbone(&self) -> &ResNet<B> {
        &self.backbone
    }
}
