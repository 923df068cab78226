//! What the methods share: their names and settings, the batch of views they
//! read, the losses they return and the [`Pretrain`] trait the training step
//! drives.

use core::fmt;
use core::str::FromStr;

use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::model::ResNet;

/// A pre-training method; each may add the SPD term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum MethodKind {
    /// Chen & He 2021: two strong views, stop-gradient, predictor.
    #[cfg_attr(feature = "clap", value(name = "simsiam"))]
    SimSiam,
    /// MoCo v2 (Chen et al. 2020): momentum key encoder and a queue of keys.
    #[cfg_attr(feature = "clap", value(name = "moco"))]
    Moco,
    /// SimCLR (Chen et al. 2020): NT-Xent over the batch.
    #[cfg_attr(feature = "clap", value(name = "simclr"))]
    SimClr,
    /// Cross-entropy on the data set's object classes.
    #[cfg_attr(feature = "clap", value(name = "supervised"))]
    Supervised,
}

impl MethodKind {
    pub const ALL: [MethodKind; 4] = [
        MethodKind::SimSiam,
        MethodKind::Moco,
        MethodKind::SimClr,
        MethodKind::Supervised,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MethodKind::SimSiam => "simsiam",
            MethodKind::Moco => "moco",
            MethodKind::SimClr => "simclr",
            MethodKind::Supervised => "supervised",
        }
    }

    /// The learning rate at a batch of 256, scaled linearly with the batch
    /// (`lr = base · batch / 256`): SimSiam's 0.05, MoCo v2's 0.03, SimCLR's
    /// 0.3 (its paper uses LARS; here plain SGD), and torchvision's ImageNet
    /// recipe's 0.1 for supervised training.
    pub fn base_learning_rate(self) -> f64 {
        match self {
            MethodKind::SimSiam => 0.05,
            MethodKind::Moco => 0.03,
            MethodKind::SimClr => 0.3,
            MethodKind::Supervised => 0.1,
        }
    }

    /// How many augmented views of each image the method itself reads
    /// (the SPD views come on top).
    pub fn view_count(self) -> usize {
        match self {
            MethodKind::Supervised => 1,
            _ => 2,
        }
    }
}

impl fmt::Display for MethodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MethodKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        MethodKind::ALL
            .into_iter()
            .find(|m| m.name() == text)
            .ok_or_else(|| {
                format!("unknown method `{text}`: choose simsiam, moco, simclr or supervised")
            })
    }
}

/// One training batch on the device.
#[derive(Debug, Clone)]
pub struct Batch<B: Backend> {
    /// The method's views, each `[batch, 3, size, size]`, normalised.
    pub views: Vec<Tensor<B, 4>>,
    /// SPD's anchor `a = weak(x)`, positive `b = weak(x)` and negative
    /// `n = SmoothBlend(a)`, each `[batch, 3, size, size]`; `None` when the
    /// SPD weight is 0, so the plain method runs unchanged.
    pub spd: Option<[Tensor<B, 4>; 3]>,
    /// The object class of each image, `[batch]` (the supervised method's
    /// targets).
    pub labels: Tensor<B, 1, Int>,
}

/// The losses of one batch, each `[1]`.
#[derive(Debug, Clone)]
pub struct Losses<B: Backend> {
    pub method: Tensor<B, 1>,
    /// The SPD term, when the batch has SPD views.
    pub spd: Option<Tensor<B, 1>>,
    /// What this batch adds to the model's memory (MoCo's new keys,
    /// `[batch, dim]`, constants), for [`Pretrain::remember`] once the
    /// step's peers have pooled theirs; `None` for methods without one.
    pub memory: Option<Tensor<B, 2>>,
}

impl<B: Backend> Losses<B> {
    /// `L = L_method + η · L_spd`.
    pub fn total(&self, spd_weight: f64) -> Tensor<B, 1> {
        match &self.spd {
            Some(spd) => self.method.clone() + spd.clone().mul_scalar(spd_weight),
            None => self.method.clone(),
        }
    }
}

/// A method's trainable model: a backbone with its heads.
pub trait Pretrain<B: AutodiffBackend>: AutodiffModule<B> {
    /// Work before each step's forward pass (MoCo's momentum update of the
    /// key encoder); nothing by default.
    fn before_step(self) -> Self {
        self
    }

    /// The method's loss and, when the batch has SPD views, the SPD term.
    fn losses(&self, batch: &Batch<B>) -> Losses<B>;

    /// Takes in a step's [`Losses::memory`] (MoCo enqueues the keys, newest
    /// first); nothing by default. Data-parallel peers pass the keys of all
    /// their shards in peer order, so every peer's memory stays the same.
    fn remember(&self, _memory: Tensor<B, 2>) {}

    /// The backbone being pre-trained, the part exported for PaDiM.
    fn backbone(&self) -> &ResNet<B>;
}

/// Every float parameter of a module, flattened, in visiting order.
struct Collect<B: Backend>(Vec<Tensor<B, 1>>);

impl<B: Backend> ModuleVisitor<B> for Collect<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(param.val().reshape([-1]));
    }
}

/// Replaces each parameter `k` by `m · k + (1 − m) · q` with `q` the
/// matching parameter of another module of the same structure.
struct Blend<B: Backend> {
    source: std::vec::IntoIter<Tensor<B, 1>>,
    momentum: f64,
}

impl<B: Backend> ModuleMapper<B> for Blend<B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let source = self
            .source
            .next()
            .expect("both modules have the same structure");
        let momentum = self.momentum;
        param.map(|target| {
            let source = source.reshape(target.shape());
            (target.mul_scalar(momentum) + source.mul_scalar(1.0 - momentum)).detach()
        })
    }
}

/// `target ← m · target + (1 − m) · source`, parameter by parameter, out of
/// the autodiff graph (MoCo's momentum update; `m = 0` copies). Batch-norm
/// running statistics are not parameters and stay the target's own, as in
/// MoCo's code.
pub fn momentum_update<B: Backend, M: Module<B>>(target: M, source: &M, momentum: f64) -> M {
    let mut collect = Collect(Vec::new());
    source.visit(&mut collect);
    target.map(&mut Blend {
        source: collect.0.into_iter(),
        momentum,
    })
}
