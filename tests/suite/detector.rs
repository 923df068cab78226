//! The scoring pipeline ([`Detector`]) against the pieces it is made of run
//! by hand through the full network, natively and through the async read-back.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use burn::tensor::{Tensor, TensorData};
use spotdiff::data::{Preprocess, PreprocessConfig, RgbImage};
use spotdiff::eval::{padim_taps, Detector, EvalError};
use spotdiff::model::{ResNet, ResNetConfig};
use spotdiff::padim::{FeatureMap, MapSize, PadimConfig, PadimStats};

pub(super) type TestBackend = burn::backend::Flex;

/// A tiny fitted detector: ResNet-18 at width 1/16 (4, 8 and 16 channels
/// tapped), 36 -> 32 px preprocessing, d = 10, fitted on 12 images.
pub(super) struct Fixture {
    pub config: ResNetConfig,
    pub model: ResNet<TestBackend>,
    pub preprocess: Preprocess,
    pub stats: PadimStats,
}

impl Fixture {
    pub fn new() -> Self {
        let device = Default::default();
        let config = ResNetConfig::resnet18()
            .with_width(1.0 / 16.0)
            .with_num_classes(10);
        // Fixed weights (torchvision's layout, random values and batch-norm
        // statistics, from tests/fixtures/make_resnet_fixtures.py), so that
        // every run scores the same numbers.
        let weights = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/resnet/basic.safetensors"),
        )
        .unwrap();
        let model = config
            .init::<TestBackend>(&device)
            .unwrap()
            .load_safetensors(weights)
            .unwrap();
        let preprocess = PreprocessConfig {
            resize: 36,
            crop: 32,
            ..PreprocessConfig::default()
        }
        .check()
        .unwrap();
        let trunk = model.clone().into_trunk().fold_batch_norm();
        let mut fitter = PadimConfig::new(10)
            .fitter(&[4, 8, 16], MapSize::new(32, 32))
            .unwrap();
        for seed in 0..12 {
            let input = preprocess.image(&image(seed, 40, 44)).unwrap();
            for taps in padim_taps(&trunk, &[&input], &device).unwrap() {
                fitter.push(&taps.maps()).unwrap();
            }
        }
        let stats = fitter.finish().unwrap();
        Self {
            config,
            model,
            preprocess,
            stats,
        }
    }

    pub fn detector(&self) -> Detector<TestBackend> {
        Detector::new(
            self.model.clone().into_trunk(),
            self.stats.clone(),
            self.preprocess,
            Default::default(),
        )
        .unwrap()
    }
}

/// A deterministic noisy RGB image (xorshift64*), values in [0, 1).
pub(super) fn image(seed: u64, width: u32, height: u32) -> RgbImage<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let pixels = (0..3 * width * height)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect();
    RgbImage {
        width,
        height,
        pixels,
    }
}

/// Runs a future whose work is already done when polled, as burn's CPU
/// read-back is; panics otherwise rather than spinning.
pub(super) fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the CPU backend's read-back should be ready at once"),
    }
}

#[test]
fn detector_equals_the_full_network_and_padim_by_hand() {
    let f = Fixture::new();
    let detector = f.detector();
    let picture = image(99, 50, 38);
    let got = detector.anomaly_map(&picture).unwrap();

    // By hand: preprocess, the whole ResNet's features, PaDiM on the host.
    let input = f.preprocess.image(&picture).unwrap();
    let tensor = Tensor::<TestBackend, 4>::from_data(
        TensorData::new(input.data.clone(), [1, 3, 32, 32]),
        &Default::default(),
    );
    let features = f.model.features(tensor);
    let layers: Vec<(Vec<f32>, [usize; 4])> = [features.layer1, features.layer2, features.layer3]
        .into_iter()
        .map(|t| {
            let dims = t.dims();
            (t.into_data().to_vec().unwrap(), dims)
        })
        .collect();
    let maps: Vec<FeatureMap<'_>> = layers
        .iter()
        .map(|(data, [_, c, h, w])| FeatureMap::new(data, *c, *h, *w))
        .collect();
    let want = f.stats.anomaly_map(&maps).unwrap();

    // The detector folds batch norm into the convolutions, the full network
    // does not: the two differ by f32 rounding only (measured: 9.1e-7 at
    // worst).
    assert_eq!(got.map.size(), want.size());
    let worst = got
        .map
        .values()
        .iter()
        .zip(want.values())
        .map(|(g, w)| (g - w).abs() / w.abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "relative difference {worst}");
    assert_eq!(got.map.size(), MapSize::new(32, 32));
    assert_eq!(got.score, got.map.max());
    assert!((got.score - want.max()).abs() <= 1e-5 * want.max());
    assert_eq!(got.input, input);
    // The browser's path and the evaluation's batch path give the same maps.
    assert_eq!(ready(detector.anomaly_map_async(&picture)).unwrap(), got);
    let other = f.preprocess.image(&image(5, 40, 40)).unwrap();
    let batch = detector.anomaly_maps(&[&input, &other]).unwrap();
    assert_eq!(batch[0], got.map);
    assert_eq!(batch[1], detector.anomaly_maps(&[&other]).unwrap()[0]);
}

#[test]
fn statistics_of_another_input_size_are_refused() {
    let f = Fixture::new();
    let preprocess = PreprocessConfig {
        resize: 32,
        crop: 28,
        ..PreprocessConfig::default()
    }
    .check()
    .unwrap();
    let err = Detector::new(
        f.model.into_trunk(),
        f.stats,
        preprocess,
        Default::default(),
    )
    .unwrap_err();
    assert!(matches!(err, EvalError::InputSize { crop: 28, .. }));
    assert_eq!(
        err.to_string(),
        "the PaDiM statistics were fitted on 32x32 (height x width) inputs, but the preprocessing crops 28x28: use the preprocessing the statistics were fitted with"
    );
}
