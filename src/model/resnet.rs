//! torchvision's `ResNet` with a width multiplier.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::block::{stage_forward, Block, BlockKind};
use super::conv::conv7x7_stem;
use super::error::ModelError;
use super::trunk::ResNetTrunk;
use crate::kernels::{batch_norm_relu, conv2d, max_pool2d};

/// Caps the width so channel counts stay far from overflow; 16 (1024 base
/// channels, a 6.5-billion-parameter ResNet-50) is already beyond any use.
const MAX_WIDTH: f64 = 16.0;

/// Configuration of a [`ResNet`]: the block, blocks per stage, a width
/// multiplier and the classifier's size.
#[derive(Config, Debug)]
pub struct ResNetConfig {
    /// Block the stages stack.
    pub block: BlockKind,
    /// Blocks in layer1..layer4 (ResNet-18: `[2, 2, 2, 2]`, ResNet-50: `[3, 4, 6, 3]`).
    pub layers: [usize; 4],
    /// Multiplies every channel count; the stem has `round(64 * width)`
    /// channels. 1.0 is torchvision's network and the only width its
    /// weights fit.
    #[config(default = 1.0)]
    pub width: f64,
    /// Outputs of the `fc` classifier (ImageNet: 1000).
    #[config(default = 1000)]
    pub num_classes: usize,
}

impl ResNetConfig {
    /// torchvision's `resnet18`.
    pub fn resnet18() -> Self {
        Self::new(BlockKind::Basic, [2, 2, 2, 2])
    }

    /// torchvision's `resnet50`.
    pub fn resnet50() -> Self {
        Self::new(BlockKind::Bottleneck, [3, 4, 6, 3])
    }

    /// torchvision's name of the architecture (`resnet18`, `resnet50`), when
    /// the block and stage depths are one of those.
    pub fn torchvision_name(&self) -> Option<&'static str> {
        match (self.block, self.layers) {
            (BlockKind::Basic, [2, 2, 2, 2]) => Some("resnet18"),
            (BlockKind::Bottleneck, [3, 4, 6, 3]) => Some("resnet50"),
            _ => None,
        }
    }

    /// Channels of the stem and of layer1's planes: `round(64 * width)`.
    pub fn base_channels(&self) -> Result<usize, ModelError> {
        if !(self.width.is_finite() && self.width > 0.0 && self.width <= MAX_WIDTH) {
            return Err(ModelError::InvalidWidth(self.width));
        }
        // In range by the check above: at most 64 * 16.
        let base = (64.0 * self.width).round() as usize;
        if base == 0 {
            return Err(ModelError::WidthTooSmall { width: self.width });
        }
        Ok(base)
    }

    /// Channels of the layer1..layer4 outputs, e.g. `[64, 128, 256, 512]`
    /// for ResNet-18 and `[256, 512, 1024, 2048]` for ResNet-50.
    pub fn feature_channels(&self) -> Result<[usize; 4], ModelError> {
        let planes = self.base_channels()? * self.block.expansion();
        Ok([planes, 2 * planes, 4 * planes, 8 * planes])
    }

    /// Initialises the network on `device` with torchvision's initialisation
    /// (Kaiming-normal fan-out convolutions, unit batch norms).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Result<ResNet<B>, ModelError> {
        if self.num_classes == 0 {
            return Err(ModelError::NoClasses);
        }
        // burn draws parameters lazily, on first use, so building the trunk
        // first does not change which values a seed gives.
        let trunk = self.init_trunk(device)?;
        let base = self.checked_base()?;
        Ok(ResNet {
            conv1: trunk.conv1,
            bn1: trunk.bn1,
            relu: trunk.relu,
            maxpool: trunk.maxpool,
            layer1: trunk.layer1,
            layer2: trunk.layer2,
            layer3: trunk.layer3,
            layer4: self.stage(3, base, device),
            avgpool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            fc: LinearConfig::new(8 * base * self.block.expansion(), self.num_classes).init(device),
        })
    }

    /// Initialises only the stem and layer1–layer3, the part PaDiM reads,
    /// without ever allocating layer4 or the classifier.
    pub fn init_trunk<B: Backend>(&self, device: &B::Device) -> Result<ResNetTrunk<B>, ModelError> {
        let base = self.checked_base()?;
        let [layer1, layer2, layer3] = core::array::from_fn(|i| self.stage(i, base, device));
        Ok(ResNetTrunk {
            conv1: conv7x7_stem(base).init(device),
            bn1: BatchNormConfig::new(base).init(device),
            relu: Relu::new(),
            maxpool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            layer1,
            layer2,
            layer3,
        })
    }

    fn checked_base(&self) -> Result<usize, ModelError> {
        let base = self.base_channels()?;
        if let Some(stage) = self.layers.iter().position(|&n| n == 0) {
            return Err(ModelError::EmptyStage { stage: stage + 1 });
        }
        Ok(base)
    }

    /// Stage `index` (0 for layer1) as torchvision's `_make_layer` builds it:
    /// the first block takes the stride (all but layer1 halve the grid) and
    /// the previous stage's width.
    fn stage<B: Backend>(&self, index: usize, base: usize, device: &B::Device) -> Vec<Block<B>> {
        let expansion = self.block.expansion();
        let planes = base << index;
        let mut in_channels = match index {
            0 => base,
            _ => (base << (index - 1)) * expansion,
        };
        (0..self.layers[index])
            .map(|j| {
                let stride = if index > 0 && j == 0 { 2 } else { 1 };
                let block = self.block.init(in_channels, planes, stride, device);
                in_channels = planes * expansion;
                block
            })
            .collect()
    }
}

/// torchvision's `ResNet`; field names are torchvision's module names.
#[derive(Module, Debug)]
pub struct ResNet<B: Backend> {
    /// Stem: 7×7, stride 2, `3 → base`. Weight `[base, 3, 7, 7]`.
    pub conv1: Conv2d<B>,
    /// Batch norm over `base` channels.
    pub bn1: BatchNorm<B>,
    relu: Relu,
    /// 3×3 max pool, stride 2, padding 1.
    maxpool: MaxPool2d,
    /// Stride 1; `base * expansion` channels out.
    pub layer1: Vec<Block<B>>,
    /// Stride 2; `2 * base * expansion` channels out.
    pub layer2: Vec<Block<B>>,
    /// Stride 2; `4 * base * expansion` channels out.
    pub layer3: Vec<Block<B>>,
    /// Stride 2; `8 * base * expansion` channels out.
    pub layer4: Vec<Block<B>>,
    avgpool: AdaptiveAvgPool2d,
    /// Classifier, `8 * base * expansion → num_classes`. Weight
    /// `[in, out]` (burn's layout; files hold torchvision's `[out, in]`).
    pub fc: Linear<B>,
}

/// The outputs of the four stages, the taps PaDiM reads.
///
/// For an input of `height × width`, layer1 has a grid of
/// `ceil(ceil(height / 2) / 2)` (stem conv and max pool, both stride 2)
/// and each later stage halves it again, rounding up.
#[derive(Debug, Clone)]
pub struct ResNetFeatures<B: Backend> {
    /// `[batch, base * expansion, h / 4, w / 4]`
    pub layer1: Tensor<B, 4>,
    /// `[batch, 2 * base * expansion, h / 8, w / 8]`
    pub layer2: Tensor<B, 4>,
    /// `[batch, 4 * base * expansion, h / 16, w / 16]`
    pub layer3: Tensor<B, 4>,
    /// `[batch, 8 * base * expansion, h / 32, w / 32]`
    pub layer4: Tensor<B, 4>,
}

impl<B: Backend> ResNet<B> {
    /// Runs the stem and the four stages, keeping every stage's output.
    ///
    /// # Shapes
    /// - input: `[batch, 3, height, width]`, any size of at least 1×1
    /// - output: see [`ResNetFeatures`]
    pub fn features(&self, input: Tensor<B, 4>) -> ResNetFeatures<B> {
        let x = conv2d(&self.conv1, input);
        let x = max_pool2d(&self.maxpool, batch_norm_relu(&self.bn1, x));
        let layer1 = stage_forward(&self.layer1, x);
        let layer2 = stage_forward(&self.layer2, layer1.clone());
        let layer3 = stage_forward(&self.layer3, layer2.clone());
        let layer4 = stage_forward(&self.layer4, layer3.clone());
        ResNetFeatures {
            layer1,
            layer2,
            layer3,
            layer4,
        }
    }

    /// Drops layer4 and the classifier, keeping the part PaDiM reads.
    pub fn into_trunk(self) -> ResNetTrunk<B> {
        ResNetTrunk {
            conv1: self.conv1,
            bn1: self.bn1,
            relu: self.relu,
            maxpool: self.maxpool,
            layer1: self.layer1,
            layer2: self.layer2,
            layer3: self.layer3,
        }
    }

    /// The representation self-supervised methods use: layer4 averaged
    /// over the grid (torchvision's `avgpool` and `flatten`).
    ///
    /// # Shapes
    /// - input: `[batch, 3, height, width]`
    /// - output: `[batch, 8 * base * expansion]`
    pub fn pooled(&self, input: Tensor<B, 4>) -> Tensor<B, 2> {
        let layer4 = self.features(input).layer4;
        self.avgpool.forward(layer4).flatten(1, 3)
    }

    /// torchvision's `forward`: the classifier's logits.
    ///
    /// # Shapes
    /// - input: `[batch, 3, height, width]`
    /// - output: `[batch, num_classes]`
    pub fn forward(&self, input: Tensor<B, 4>) -> Tensor<B, 2> {
        self.fc.forward(self.pooled(input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TestBackend;

    #[test]
    fn resnet18_quarter_width_shapes() {
        let device = Default::default();
        let model = ResNetConfig::resnet18()
            .with_width(0.25)
            .with_num_classes(10)
            .init::<TestBackend>(&device)
            .unwrap();
        let input = Tensor::<TestBackend, 4>::zeros([2, 3, 64, 64], &device);
        let features = model.features(input.clone());
        // base = 64 * 0.25 = 16. Stem: floor((64 + 6 - 7) / 2) + 1 = 32, max
        // pool: floor((32 + 2 - 3) / 2) + 1 = 16; then 16, 8, 4, 2.
        assert_eq!(features.layer1.dims(), [2, 16, 16, 16]);
        assert_eq!(features.layer2.dims(), [2, 32, 8, 8]);
        assert_eq!(features.layer3.dims(), [2, 64, 4, 4]);
        assert_eq!(features.layer4.dims(), [2, 128, 2, 2]);
        assert_eq!(model.pooled(input.clone()).dims(), [2, 128]);
        assert_eq!(model.forward(input).dims(), [2, 10]);
    }

    #[test]
    fn resnet50_any_input_size() {
        let device = Default::default();
        let config = ResNetConfig::resnet50().with_width(0.125);
        let model = config.init::<TestBackend>(&device).unwrap();
        // 50 x 37: stem 25 x 19, max pool 13 x 10, then 13 x 10, 7 x 5,
        // 4 x 3, 2 x 2 (each stride-2 stage: floor((n - 1) / 2) + 1).
        let input = Tensor::<TestBackend, 4>::zeros([1, 3, 50, 37], &device);
        let features = model.features(input);
        // base 8, expansion 4: 32, 64, 128, 256 channels.
        assert_eq!(config.feature_channels().unwrap(), [32, 64, 128, 256]);
        assert_eq!(features.layer1.dims(), [1, 32, 13, 10]);
        assert_eq!(features.layer2.dims(), [1, 64, 7, 5]);
        assert_eq!(features.layer3.dims(), [1, 128, 4, 3]);
        assert_eq!(features.layer4.dims(), [1, 256, 2, 2]);
    }

    #[test]
    fn block_counts_follow_the_config() {
        let device = Default::default();
        let model = ResNetConfig::resnet50()
            .with_width(1.0 / 16.0)
            .init::<TestBackend>(&device)
            .unwrap();
        let counts = [&model.layer1, &model.layer2, &model.layer3, &model.layer4].map(Vec::len);
        assert_eq!(counts, [3, 4, 6, 3]);
    }

    #[test]
    fn parameter_counts_equal_torchvision() {
        // torchvision's documented sizes: resnet18 11,689,512 and resnet50
        // 25,557,032 parameters. burn also counts the BatchNorm running mean
        // and variance, two per BatchNorm channel:
        // R18: 64 + 4*64 + (4*128 + 128) + (4*256 + 256) + (4*512 + 512) = 4,800;
        // R50: 64 + (3*384 + 256) + (4*768 + 512) + (6*1536 + 1024)
        //      + (3*3072 + 2048) = 26,560 (a block has p + p + 4p channels).
        let device = Default::default();
        let r18 = ResNetConfig::resnet18()
            .init::<TestBackend>(&device)
            .unwrap();
        assert_eq!(r18.num_params(), 11_689_512 + 2 * 4_800);
        let r50 = ResNetConfig::resnet50()
            .init::<TestBackend>(&device)
            .unwrap();
        assert_eq!(r50.num_params(), 25_557_032 + 2 * 26_560);
    }

    #[test]
    fn feature_channels_of_the_full_networks() {
        // PaDiM's embedding: R18 64 + 128 + 256 = 448, R50 256 + 512 + 1024 = 1792.
        assert_eq!(
            ResNetConfig::resnet18().feature_channels().unwrap(),
            [64, 128, 256, 512]
        );
        assert_eq!(
            ResNetConfig::resnet50().feature_channels().unwrap(),
            [256, 512, 1024, 2048]
        );
    }

    #[test]
    fn invalid_configs_are_errors() {
        let device = Default::default();
        let init = |c: ResNetConfig| c.init::<TestBackend>(&device).map(|_| ());
        for width in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e30] {
            assert!(matches!(
                init(ResNetConfig::resnet18().with_width(width)),
                Err(ModelError::InvalidWidth(_))
            ));
        }
        // 64 * 0.005 = 0.32 rounds to 0 channels.
        assert_eq!(
            init(ResNetConfig::resnet18().with_width(0.005)),
            Err(ModelError::WidthTooSmall { width: 0.005 })
        );
        assert_eq!(
            init(ResNetConfig::new(BlockKind::Basic, [2, 0, 2, 2])),
            Err(ModelError::EmptyStage { stage: 2 })
        );
        assert_eq!(
            init(ResNetConfig::resnet18().with_num_classes(0)),
            Err(ModelError::NoClasses)
        );
    }

    #[test]
    fn trains_under_autodiff() {
        use burn::backend::Autodiff;
        use burn::module::AutodiffModule;
        use burn::tensor::Distribution;

        let device = Default::default();
        let model = ResNetConfig::resnet18()
            .with_width(1.0 / 16.0)
            .with_num_classes(2)
            .init::<Autodiff<TestBackend>>(&device)
            .unwrap();
        let input = Tensor::random([2, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
        let grads = model.pooled(input).sum().backward();
        // The stem feeds the pooled features; the classifier does not.
        let stem = model.conv1.weight.grad(&grads).unwrap();
        assert_eq!(stem.dims(), [4, 3, 7, 7]);
        assert!(model.fc.weight.grad(&grads).is_none());
        // The inference copy drops the autodiff graph and keeps the weights.
        let eval: ResNet<TestBackend> = model.valid();
        eval.conv1
            .weight
            .val()
            .into_data()
            .assert_eq(&model.conv1.weight.val().inner().into_data(), true);
    }

    #[test]
    fn config_round_trips_through_json() {
        let config = ResNetConfig::resnet50().with_width(0.25);
        let json = serde_json::to_string(&config).unwrap();
        let back: ResNetConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.block, BlockKind::Bottleneck);
        assert_eq!(back.layers, [3, 4, 6, 3]);
        assert_eq!(back.width, 0.25);
    }
}
