//! The network's hot operations as single operations: batch norm in
//! training, 2-D convolution and max pooling. burn 0.21 composes batch norm
//! from six broadcast element-wise operations, differentiates a convolution
//! through a transposed convolution and two transposed copies, and pools
//! element by element with bounds checks at every tap; on its CPU backend
//! flex those dominate the pre-training step (docs/BENCHMARKS.md).
//!
//! The model calls [`batch_norm`], [`conv2d`] and [`max_pool2d`] instead of
//! the modules' `forward`. On `Autodiff<Flex>` and `Flex` with f32 values (native builds)
//! they run the kernels in `flex/`, each one autodiff node with a closed-form
//! backward pass; on every other backend (wgpu, CUDA, WebGPU in the browser)
//! batch norm runs a shorter composition of burn's tensor operations and a
//! convolution runs burn's own. The modules, their records and their
//! parameter names stay burn's, so weights load and save as before.
//!
//! # Adding a fused operation
//! 1. Write the operation from burn tensor operations, generic over the
//!    backend: it is the fallback and is differentiated by burn.
//! 2. Write the flex kernel on f32 slices in `flex/` (forward, and the
//!    backward pass for every input that can need a gradient), splitting
//!    work over rayon's pool, which flex's own kernels share.
//! 3. In `flex/mod.rs`, downcast the module to its `Autodiff<Flex>` (and, if
//!    inference gains, `Flex`) type, run the forward kernel and register a
//!    `Backward` node (`prepare::<NoCheckpointing>(parents).compute_bound()
//!    .stateful()`) whose state holds what the backward kernel reads.
//! 4. Test forward values and every gradient against burn's composed
//!    operations on random tensors of awkward shapes, at 1e-5 relative.

mod batch_norm;
mod conv;
#[cfg(not(target_family = "wasm"))]
mod flex;
mod pool;
// The browser build has no native kernels (no threads, and flex's own
// kernels are what it measures): every call takes the composed path.
#[cfg(target_family = "wasm")]
mod flex {
    use burn::nn::{conv::Conv2d, BatchNorm};
    use burn::tensor::{backend::Backend, Tensor};

    pub(super) fn batch_norm_train<B: Backend>(
        _: &BatchNorm<B>,
        input: Tensor<B, 3>,
        _: &super::batch_norm::After<B>,
    ) -> Result<super::batch_norm::Normalised<B>, Tensor<B, 3>> {
        Err(input)
    }

    pub(super) fn conv2d<B: Backend>(
        _: &Conv2d<B>,
        input: Tensor<B, 4>,
    ) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
        Err(input)
    }

    pub(super) fn max_pool2d<B: Backend>(
        _: &burn::nn::pool::MaxPool2d,
        input: Tensor<B, 4>,
    ) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
        Err(input)
    }
}

pub use batch_norm::{batch_norm, batch_norm_add_relu, batch_norm_relu};

/// Runs `work` on one of the threads the native kernels split their work
/// over (rayon's global pool) instead of the calling thread, and returns its
/// result. A training loop run this way does its serial parts on a pool
/// thread, so each parallel section starts where the loop already is rather
/// than handing off from the caller to both workers and back (about 7%
/// of the step, docs/BENCHMARKS.md). `work` stays on that one thread from
/// start to end, which burn's running statistics need (they are kept per
/// thread until synced). In the browser build it runs `work` in place.
pub fn on_compute_thread<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    #[cfg(not(target_family = "wasm"))]
    {
        rayon::scope(|_| work())
    }
    #[cfg(target_family = "wasm")]
    {
        work()
    }
}
pub use conv::{conv2d, conv2d_or_else};
pub use pool::max_pool2d;

#[cfg(all(test, not(target_family = "wasm")))]
mod tests;
