//! The projection and prediction heads: a stack of linear layers, each but
//! the last followed by an optional batch norm and a ReLU.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, Relu};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::kernels::{batch_norm, batch_norm_relu};

/// Configuration of an [`Mlp`].
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Input size, then each layer's output size: `[in, hidden.., out]`.
    pub dims: Vec<usize>,
    /// Batch norm after every hidden layer (SimSiam's heads have it, MoCo
    /// v2's and SimCLR's do not).
    #[config(default = true)]
    pub hidden_batch_norm: bool,
    /// Batch norm after the last layer too (SimSiam's projector).
    #[config(default = false)]
    pub output_batch_norm: bool,
}

impl MlpConfig {
    /// # Panics
    /// With fewer than two sizes in `dims` (a broken invariant: the
    /// methods build their heads from checked backbone sizes).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Mlp<B> {
        assert!(
            self.dims.len() >= 2,
            "an MLP needs an input and an output size"
        );
        let layers = self.dims.len() - 1;
        let norms = (1..=layers)
            .map(|i| {
                let wanted = if i == layers {
                    self.output_batch_norm
                } else {
                    self.hidden_batch_norm
                };
                wanted.then(|| BatchNormConfig::new(self.dims[i]).init(device))
            })
            .collect();
        Mlp {
            linears: self
                .dims
                .windows(2)
                .map(|pair| LinearConfig::new(pair[0], pair[1]).init(device))
                .collect(),
            norms,
            relu: Relu::new(),
        }
    }
}

/// Linear layers with batch norms and ReLUs between them.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    /// Layer `i`: weight `[dims[i], dims[i + 1]]`.
    pub linears: Vec<Linear<B>>,
    /// The batch norm after layer `i`, if any.
    pub norms: Vec<Option<BatchNorm<B>>>,
    relu: Relu,
}

impl<B: Backend> Mlp<B> {
    /// # Shapes
    /// - input: `[batch, dims[0]]`; output: `[batch, dims[last]]`
    pub fn forward(&self, input: Tensor<B, 2>) -> Tensor<B, 2> {
        let last = self.linears.len() - 1;
        let mut x = input;
        for (i, (linear, norm)) in self.linears.iter().zip(&self.norms).enumerate() {
            x = linear.forward(x);
            x = match (norm, i < last) {
                (Some(norm), true) => batch_norm_relu(norm, x),
                (Some(norm), false) => batch_norm(norm, x),
                (None, true) => self.relu.forward(x),
                (None, false) => x,
            };
        }
        x
    }
}
