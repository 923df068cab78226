//! The trunk for inference with every batch norm folded into the
//! convolution before it: `bn(conv(x)) = conv'(x)` with the weights scaled
//! by `γ/√(σ² + ε)` per output channel and bias `β − μ·γ/√(σ² + ε)`.
//!
//! Batch norm at inference is a per-channel affine map, but burn's module
//! applies it as four broadcast passes over the activations, which on the
//! CPU backend cost about twice the convolutions themselves (measured in
//! docs/BENCHMARKS.md); folded, it costs nothing per image.

use burn::module::Param;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::BatchNorm;
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::block::Block;
use super::downsample::pointwise;
use super::trunk::ResNetTrunk;
use crate::kernels::{conv2d, max_pool2d};

/// A [`ResNetTrunk`] for inference only (batch norm uses its running
/// statistics, as [`ResNetTrunk::taps`] does outside training), from
/// [`ResNetTrunk::fold_batch_norm`]. Its taps equal the trunk's up to f32
/// rounding.
#[derive(Debug, Clone)]
pub struct FoldedTrunk<B: Backend> {
    stem: Conv2d<B>,
    maxpool: MaxPool2d,
    layers: [Vec<FoldedBlock<B>>; 3],
}

/// One residual block: `relu(convₙ(…relu(conv₁(x))…) + shortcut(x))`.
#[derive(Debug, Clone)]
struct FoldedBlock<B: Backend> {
    convs: Vec<Conv2d<B>>,
    shortcut: Option<Conv2d<B>>,
}

impl<B: Backend> ResNetTrunk<B> {
    /// The same network with each batch norm folded into its convolution.
    pub fn fold_batch_norm(&self) -> FoldedTrunk<B> {
        let blocks = |stage: &[Block<B>]| stage.iter().map(FoldedBlock::new).collect();
        FoldedTrunk {
            stem: fold(&self.conv1, &self.bn1),
            maxpool: self.maxpool.clone(),
            layers: [
                blocks(&self.layer1),
                blocks(&self.layer2),
                blocks(&self.layer3),
            ],
        }
    }
}

impl<B: Backend> FoldedTrunk<B> {
    /// As [`ResNetTrunk::taps`]: the outputs of layer1, layer2 and layer3.
    pub fn taps(&self, input: Tensor<B, 4>) -> [Tensor<B, 4>; 3] {
        let x = max_pool2d(&self.maxpool, relu(conv2d(&self.stem, input)));
        let stage = |blocks: &[FoldedBlock<B>], x| blocks.iter().fold(x, |x, b| b.forward(x));
        let layer1 = stage(&self.layers[0], x);
        let layer2 = stage(&self.layers[1], layer1.clone());
        let layer3 = stage(&self.layers[2], layer2.clone());
        [layer1, layer2, layer3]
    }
}

impl<B: Backend> FoldedBlock<B> {
    fn new(block: &Block<B>) -> Self {
        let (convs, downsample) = match block {
            Block::Basic(b) => (
                vec![fold(&b.conv1, &b.bn1), fold(&b.conv2, &b.bn2)],
                &b.downsample,
            ),
            Block::Bottleneck(b) => (
                vec![
                    fold(&b.conv1, &b.bn1),
                    fold(&b.conv2, &b.bn2),
                    fold(&b.conv3, &b.bn3),
                ],
                &b.downsample,
            ),
        };
        Self {
            convs,
            shortcut: downsample.as_ref().map(|(conv, bn)| fold(conv, bn)),
        }
    }

    fn forward(&self, input: Tensor<B, 4>) -> Tensor<B, 4> {
        let identity = match &self.shortcut {
            Some(conv) => pointwise(conv, input.clone()),
            None => input.clone(),
        };
        let (last, inner) = self
            .convs
            .split_last()
            .unwrap_or_else(|| unreachable!("every block has convolutions"));
        let x = inner.iter().fold(input, |x, conv| relu(conv2d(conv, x)));
        relu(conv2d(last, x) + identity)
    }
}

/// `conv` followed by `bn` (running statistics) as one convolution.
fn fold<B: Backend>(conv: &Conv2d<B>, bn: &BatchNorm<B>) -> Conv2d<B> {
    let scale = bn.gamma.val() / (bn.running_var.value() + bn.epsilon).sqrt();
    let shift = bn.beta.val() - bn.running_mean.value() * scale.clone();
    let bias = match &conv.bias {
        Some(bias) => bias.val() * scale.clone() + shift,
        None => shift,
    };
    let [channels, ..] = conv.weight.dims();
    let weight = conv.weight.val() * scale.reshape([channels, 1, 1, 1]);
    Conv2d {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(bias)),
        ..conv.clone()
    }
}

#[cfg(test)]
mod tests {
    use burn::module::{Module, ModuleMapper, Param};
    use burn::tensor::{Distribution, Tensor};

    use crate::model::{ResNetConfig, TestBackend};

    /// Replaces every 1-D tensor (batch norm's γ, β, running mean and
    /// variance) with positive random values, so that folding has real
    /// statistics to fold rather than a fresh identity.
    struct RandomNorms;

    impl ModuleMapper<TestBackend> for RandomNorms {
        fn map_float<const D: usize>(
            &mut self,
            param: Param<Tensor<TestBackend, D>>,
        ) -> Param<Tensor<TestBackend, D>> {
            if D != 1 {
                return param;
            }
            let (id, tensor, mapper) = param.consume();
            let random = tensor.random_like(Distribution::Uniform(0.5, 1.5));
            Param::from_mapped_value(id, random, mapper)
        }
    }

    #[test]
    fn folded_taps_equal_the_trunks_with_real_statistics() {
        let device = Default::default();
        for config in [ResNetConfig::resnet18(), ResNetConfig::resnet50()] {
            let trunk = config
                .with_width(1.0 / 16.0)
                .init_trunk::<TestBackend>(&device)
                .unwrap()
                .map(&mut RandomNorms);
            let input = Tensor::random([2, 3, 40, 40], Distribution::Normal(0.0, 1.0), &device);
            let folded = trunk.fold_batch_norm().taps(input.clone());
            for (got, want) in folded.into_iter().zip(trunk.taps(input)) {
                let (got, want) = (got.into_data(), want.into_data());
                let scale = want.iter::<f32>().fold(0.0f32, |m, v| m.max(v.abs()));
                let error = got
                    .iter::<f32>()
                    .zip(want.iter::<f32>())
                    .fold(0.0f32, |m, (g, w)| m.max((g - w).abs()));
                assert!(scale > 0.1, "a dead tap tests nothing");
                // f32 rounding through the network: about 1e-6 of the scale.
                assert!(error <= 1e-5 * scale, "off by {error} at scale {scale}");
            }
        }
    }
}
