//! MoCo v2 (He et al., "Momentum Contrast for Unsupervised Visual
//! Representation Learning", CVPR 2020; Chen et al. 2020, "Improved
//! Baselines with Momentum Contrastive Learning") with the SPD term: the
//! anchor's query, the positive's key, and the SmoothBlend view's key as
//! one more negative beside the queue.
//!
//! The query encoder is trained; the key encoder follows it by momentum
//! ([`Pretrain::before_step`]) and its outputs are constants. Keys of the
//! method's second view enter a first-in first-out queue after each
//! step ([`Pretrain::remember`]); with several devices, the keys of all
//! their shards enter every device's queue, as in MoCo's own code. MoCo's
//! shuffled batch norm (keys computed on another GPU's share of the batch)
//! is left out: on one device it has no effect, and with several each
//! device normalises its own shard.

use burn::module::{Module, RunningState};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, Tensor};

use super::config::{PretrainConfig, PretrainError};
use super::loss::{info_nce, normalize};
use super::method::{momentum_update, Batch, Losses, Pretrain};
use super::mlp::{Mlp, MlpConfig};
use crate::model::ResNet;

/// MoCo v2's key size.
pub const MOCO_DIM: usize = 128;

/// Query and key encoders (backbone with MoCo v2's MLP head
/// `features → features → 128`) and the queue of keys.
#[derive(Module, Debug)]
pub struct Moco<B: Backend> {
    pub backbone: ResNet<B>,
    pub head: Mlp<B>,
    pub key_backbone: ResNet<B>,
    pub key_head: Mlp<B>,
    /// `[queue, 128]` normalised keys, newest first.
    pub queue: RunningState<Tensor<B, 2>>,
    pub momentum: f64,
    pub temperature: f64,
}

impl<B: Backend> Moco<B> {
    pub fn init(config: &PretrainConfig, device: &B::Device) -> Result<Self, PretrainError> {
        config.check()?;
        let features = config.feature_dim()?;
        let head = MlpConfig::new(vec![features, features, MOCO_DIM]).with_hidden_batch_norm(false);
        let backbone = config.backbone.init(device)?;
        let head_query = head.init(device);
        // The key encoder starts as a copy of the query encoder, with
        // parameters of its own (the optimiser must not see them as the
        // query's).
        let key_backbone = momentum_update(config.backbone.init(device)?, &backbone, 0.0);
        let key_head = momentum_update(head.init(device), &head_query, 0.0);
        let queue = Tensor::random(
            [config.moco_queue, MOCO_DIM],
            Distribution::Normal(0.0, 1.0),
            device,
        );
        Ok(Moco {
            backbone,
            head: head_query,
            key_backbone,
            key_head,
            queue: RunningState::new(normalize(queue)),
            momentum: config.moco_momentum,
            temperature: config.moco_temperature,
        })
    }

    fn query(&self, view: Tensor<B, 4>) -> Tensor<B, 2> {
        self.head.forward(self.backbone.pooled(view))
    }

    /// Normalised keys, outside the autodiff graph.
    fn key(&self, view: Tensor<B, 4>) -> Tensor<B, 2> {
        normalize(self.key_head.forward(self.key_backbone.pooled(view))).detach()
    }
}

impl<B: AutodiffBackend> Pretrain<B> for Moco<B> {
    fn before_step(self) -> Self {
        let key_backbone = momentum_update(self.key_backbone, &self.backbone, self.momentum);
        let key_head = momentum_update(self.key_head, &self.head, self.momentum);
        Moco {
            key_backbone,
            key_head,
            ..self
        }
    }

    fn losses(&self, batch: &Batch<B>) -> Losses<B> {
        let queue = self.queue.value_sync();
        let query = self.query(batch.views[0].clone());
        let key = self.key(batch.views[1].clone());
        let method = info_nce(query, key.clone(), queue.clone(), None, self.temperature);
        let spd = batch.spd.as_ref().map(|[a, b, n]| {
            info_nce(
                self.query(a.clone()),
                self.key(b.clone()),
                queue.clone(),
                Some(self.key(n.clone())),
                self.temperature,
            )
        });
        Losses {
            method,
            spd,
            memory: Some(key),
        }
    }

    fn remember(&self, keys: Tensor<B, 2>) {
        let queue = self.queue.value_sync();
        let [length, _] = queue.dims();
        let newest_first = Tensor::cat(vec![keys, queue], 0).narrow(0, 0, length);
        self.queue.update(newest_first.detach());
    }

    fn backbone(&self) -> &ResNet<B> {
        &self.backbone
    }
}
