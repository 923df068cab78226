//! The part of a ResNet that PaDiM reads: the stem and layer1–layer3.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::{BatchNorm, Relu};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::block::{stage_forward, Block};
use crate::kernels::{batch_norm_relu, conv2d, max_pool2d};

/// torchvision's `ResNet` cut after `layer3` ([`ResNet::into_trunk`] or
/// [`ResNetConfig::init_trunk`]): field names, and so weight-file names, are
/// torchvision's, and `layer4` and `fc` are neither stored nor computed.
///
/// [`ResNet::into_trunk`]: super::ResNet::into_trunk
/// [`ResNetConfig::init_trunk`]: super::ResNetConfig::init_trunk
#[derive(Module, Debug)]
pub struct ResNetTrunk<B: Backend> {
    /// Stem: 7×7, stride 2, `3 → base`. Weight `[base, 3, 7, 7]`.
    pub conv1: Conv2d<B>,
    /// Batch norm over `base` channels.
    pub bn1: BatchNorm<B>,
    pub(super) relu: Relu,
    /// 3×3 max pool, stride 2, padding 1.
    pub(super) maxpool: MaxPool2d,
    /// Stride 1; `base * expansion` channels out.
    pub layer1: Vec<Block<B>>,
    /// Stride 2; `2 * base * expansion` channels out.
    pub layer2: Vec<Block<B>>,
    /// Stride 2; `4 * base * expansion` channels out.
    pub layer3: Vec<Block<B>>,
}

impl<B: Backend> ResNetTrunk<B> {
    /// The outputs of layer1, layer2 and layer3, PaDiM's taps; the same
    /// values as the first three of [`super::ResNet::features`].
    ///
    /// # Shapes
    /// - input: `[batch, 3, height, width]`
    /// - output: `[batch, base·e, h/4, w/4]`, `[batch, 2·base·e, h/8, w/8]`,
    ///   `[batch, 4·base·e, h/16, w/16]` (e = the block's expansion;
    ///   sides round up as in [`super::ResNetFeatures`])
    pub fn taps(&self, input: Tensor<B, 4>) -> [Tensor<B, 4>; 3] {
        let x = conv2d(&self.conv1, input);
        let x = max_pool2d(&self.maxpool, batch_norm_relu(&self.bn1, x));
        let layer1 = stage_forward(&self.layer1, x);
        let layer2 = stage_forward(&self.layer2, layer1.clone());
        let layer3 = stage_forward(&self.layer3, layer2.clone());
        [layer1, layer2, layer3]
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;

    use crate::model::{ResNetConfig, TestBackend};

    #[test]
    fn taps_equal_the_full_networks_first_three_stages() {
        let device = Default::default();
        let model = ResNetConfig::resnet18()
            .with_width(1.0 / 16.0)
            .init::<TestBackend>(&device)
            .unwrap();
        let input =
            burn::tensor::Tensor::random([2, 3, 40, 40], Distribution::Normal(0.0, 1.0), &device);
        let full = model.features(input.clone());
        let taps = model.into_trunk().taps(input);
        for (tap, want) in taps
            .into_iter()
            .zip([full.layer1, full.layer2, full.layer3])
        {
            tap.into_data().assert_eq(&want.into_data(), true);
        }
    }

    #[test]
    fn a_fresh_trunk_has_no_layer4_or_classifier() {
        let device = Default::default();
        let config = ResNetConfig::resnet18().with_width(1.0 / 16.0);
        let full = config.init::<TestBackend>(&device).unwrap();
        let trunk = config.init_trunk::<TestBackend>(&device).unwrap();
        use burn::module::Module;
        let layer4: usize = full.layer4.iter().map(Module::num_params).sum();
        assert_eq!(
            trunk.num_params(),
            full.num_params() - layer4 - full.fc.num_params()
        );
    }
}
