//! SPD pre-training (SPEC "SPD pre-training"; seed, supplement C): the
//! baselines SimSiam, MoCo v2, SimCLR and supervised training, each with the
//! SPot-the-Difference term `L = L_method + η · L_spd` (η = 0.1 by default,
//! 0 gives the plain method).
//!
//! - [`loss`]: the losses on plain tensors (negative cosine, SPD's SimSiam
//!   form, InfoNCE with a hard negative, NT-Xent).
//! - [`SimSiam`], [`Moco`], [`SimClr`], [`Supervised`]: the models, each a
//!   ResNet backbone with its heads, implementing [`Pretrain`].
//! - [`ViewBuilder`]: seeded views per (epoch, image), [`HostBatch`] to
//!   stack them and move them to a device.
//! - [`train_step`]: one SGD step with the baselines' schedule, in two
//!   halves ([`step_gradients`], [`apply_step`]) for data-parallel peers.
//!
//! Pure burn tensor code with no I/O or threads; it builds for wasm32. The
//! trainer's `pretrain` command adds the data loader, checkpoints and logs.

mod config;
pub mod loss;
mod method;
mod mlp;
mod moco;
mod simclr;
mod simsiam;
mod step;
mod supervised;
mod views;

pub use config::{PretrainConfig, PretrainError};
pub use method::{momentum_update, Batch, Losses, MethodKind, Pretrain};
pub use mlp::{Mlp, MlpConfig};
pub use moco::{Moco, MOCO_DIM};
pub use simclr::{SimClr, SIMCLR_DIM};
pub use simsiam::SimSiam;
pub use step::{
    apply_step, cosine_learning_rate, sgd, step_gradients, train_step, StepGradients, StepLosses,
    MOMENTUM, WEIGHT_DECAY,
};
pub use supervised::Supervised;
pub use views::{epoch_order, HostBatch, ItemViews, ViewBuilder};
