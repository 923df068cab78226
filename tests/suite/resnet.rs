//! The ResNet backbones against torchvision.
//!
//! Fixtures come from tests/fixtures/make_resnet_fixtures.py (torch 2.15.0,
//! torchvision 0.29.2; the versions are also in reference.safetensors'
//! metadata): small torchvision ResNets with random weights and BatchNorm
//! statistics, as safetensors and `.pth`, their layer1..layer4, pooled and
//! logit outputs on a 2×3×64×48 input, and the tensor names and shapes of the
//! real resnet18 and resnet50 state dicts.

use std::path::{Path, PathBuf};

use burn::tensor::{Tensor, TensorData};
use burn_store::{ModuleSnapshot, ModuleStore, SafetensorsStore};
use spotdiff::model::{BlockKind, ResNet, ResNetConfig, TensorProblem, WeightFormat, WeightsError};

type TestBackend = burn::backend::Flex;

/// Agreement with PyTorch's float32 outputs.
const TOLERANCE: f32 = 1e-4;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/resnet")
}

/// The fixture models: torchvision ResNets with 4 base channels (width 1/16).
fn fixture_config(name: &str) -> ResNetConfig {
    let (block, layers) = match name {
        "basic" => (BlockKind::Basic, [2, 2, 2, 2]),
        "bottleneck" => (BlockKind::Bottleneck, [1, 2, 1, 1]),
        _ => unreachable!("no fixture {name}"),
    };
    ResNetConfig::new(block, layers)
        .with_width(4.0 / 64.0)
        .with_num_classes(10)
}

fn fresh(name: &str) -> ResNet<TestBackend> {
    fixture_config(name).init(&Default::default()).unwrap()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One tensor of reference.safetensors.
fn reference(name: &str) -> TensorData {
    let mut store = SafetensorsStore::from_file(fixtures().join("reference.safetensors"));
    store
        .get_snapshot(name)
        .unwrap()
        .unwrap_or_else(|| panic!("no {name} in reference.safetensors"))
        .to_data()
        .unwrap()
}

fn assert_close(what: &str, got: TensorData, want: TensorData) {
    assert_eq!(got.shape, want.shape, "{what}: shape");
    let got = got.to_vec::<f32>().unwrap();
    let want = want.to_vec::<f32>().unwrap();
    let worst = got
        .iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= TOLERANCE, "{what}: max |rust - torch| = {worst}");
}

/// Runs `model` on the reference input and compares every output.
fn assert_matches_torchvision(name: &str, model: &ResNet<TestBackend>) {
    let device = Default::default();
    let input = Tensor::<TestBackend, 4>::from_data(reference("input"), &device);
    let features = model.features(input.clone());
    let taps = [
        ("layer1", features.layer1),
        ("layer2", features.layer2),
        ("layer3", features.layer3),
        ("layer4", features.layer4),
    ];
    for (tap, got) in taps {
        assert_close(
            &format!("{name}.{tap}"),
            got.into_data(),
            reference(&format!("{name}.{tap}")),
        );
    }
    assert_close(
        &format!("{name}.pooled"),
        model.pooled(input.clone()).into_data(),
        reference(&format!("{name}.pooled")),
    );
    assert_close(
        &format!("{name}.logits"),
        model.forward(input).into_data(),
        reference(&format!("{name}.logits")),
    );
}

#[test]
fn basic_block_safetensors_matches_torchvision() {
    let bytes = read(&fixtures().join("basic.safetensors"));
    let model = fresh("basic").load_safetensors(bytes).unwrap();
    assert_matches_torchvision("basic", &model);
}

#[test]
fn bottleneck_safetensors_matches_torchvision() {
    let bytes = read(&fixtures().join("bottleneck.safetensors"));
    let model = fresh("bottleneck").load_safetensors(bytes).unwrap();
    assert_matches_torchvision("bottleneck", &model);
}

#[test]
fn basic_block_pth_matches_torchvision() {
    let model = fresh("basic")
        .load_pytorch(fixtures().join("basic.pth"))
        .unwrap();
    assert_matches_torchvision("basic", &model);
}

#[test]
fn bottleneck_pth_matches_torchvision() {
    let model = fresh("bottleneck")
        .load_pytorch(fixtures().join("bottleneck.pth"))
        .unwrap();
    assert_matches_torchvision("bottleneck", &model);
}

/// name<TAB>d0,d1,… lines written by the fixture script.
fn torchvision_names(file: &str) -> Vec<(String, Vec<usize>)> {
    std::fs::read_to_string(fixtures().join(file))
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let (name, shape) = line.split_once('\t').unwrap();
            let dims = shape.split(',').map(|d| d.parse().unwrap()).collect();
            (name.to_string(), dims)
        })
        .collect()
}

#[test]
fn resnet18_tensors_equal_torchvision_state_dict() {
    let model = ResNetConfig::resnet18()
        .init::<TestBackend>(&Default::default())
        .unwrap();
    assert_eq!(
        model.tensor_shapes(),
        torchvision_names("resnet18_names.txt")
    );
}

#[test]
fn resnet50_tensors_equal_torchvision_state_dict() {
    let model = ResNetConfig::resnet50()
        .init::<TestBackend>(&Default::default())
        .unwrap();
    assert_eq!(
        model.tensor_shapes(),
        torchvision_names("resnet50_names.txt")
    );
}

#[test]
fn export_writes_torchvision_tensors_unchanged() {
    let original = read(&fixtures().join("bottleneck.safetensors"));
    let model = fresh("bottleneck")
        .load_safetensors(original.clone())
        .unwrap();
    let mut exported = SafetensorsStore::from_bytes(Some(model.to_safetensors().unwrap()));
    let mut torch = SafetensorsStore::from_bytes(Some(original));

    let exported = exported.get_all_snapshots().unwrap();
    let torch = torch.get_all_snapshots().unwrap();
    let kept: Vec<&String> = torch
        .keys()
        .filter(|k| !k.ends_with("num_batches_tracked"))
        .collect();
    assert_eq!(exported.keys().collect::<Vec<_>>(), kept);
    for name in kept {
        assert_eq!(
            exported[name].to_data().unwrap(),
            torch[name].to_data().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn wrong_block_kind_lists_missing_and_unexpected_tensors() {
    let bytes = read(&fixtures().join("basic.safetensors"));
    let err = fresh("bottleneck").load_safetensors(bytes).unwrap_err();
    let WeightsError::Mismatch { format, problems } = &err else {
        panic!("expected a mismatch, got {err}");
    };
    assert_eq!(*format, WeightFormat::Safetensors);
    // Bottleneck has conv3; BasicBlock [2, 2, 2, 2] has a second layer1 block.
    assert!(problems.contains(&TensorProblem::Missing {
        tensor: "layer1.0.conv3.weight".into()
    }));
    assert!(problems.contains(&TensorProblem::Unexpected {
        tensor: "layer1.1.conv1.weight".into()
    }));
    let message = err.to_string();
    assert!(message.contains("`layer1.0.conv3.weight` is missing from the file"));
    assert!(!message.contains("num_batches_tracked"));
}

#[test]
fn a_missing_tensor_is_named() {
    let model = fresh("basic");
    let mut store = SafetensorsStore::from_bytes(None)
        .with_to_adapter(burn_store::BurnToPyTorchAdapter)
        .skip_enum_variants(true)
        .with_predicate(|path, _| path != "fc.bias");
    model.save_into(&mut store).unwrap();
    let err = fresh("basic")
        .load_safetensors(store.get_bytes().unwrap())
        .unwrap_err();
    assert_eq!(
        err,
        WeightsError::Mismatch {
            format: WeightFormat::Safetensors,
            problems: vec![TensorProblem::Missing {
                tensor: "fc.bias".into()
            }],
        }
    );
}

#[test]
fn unreadable_pth_is_an_error_not_a_panic() {
    let err = fresh("basic")
        .load_pytorch(fixtures().join("no_such_file.pth"))
        .unwrap_err();
    assert!(matches!(
        err,
        WeightsError::Read {
            format: WeightFormat::Pytorch,
            ..
        }
    ));
    // A safetensors file is not a pickle.
    let err = fresh("basic")
        .load_pytorch(fixtures().join("basic.safetensors"))
        .unwrap_err();
    assert!(matches!(err, WeightsError::Read { .. }), "{err}");
}

#[test]
fn truncated_files_are_errors_not_panics() {
    for name in ["basic.safetensors", "bottleneck.safetensors"] {
        let bytes = read(&fixtures().join(name));
        for keep in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
            let err = fresh(name.split('.').next().unwrap())
                .load_safetensors(bytes[..keep].to_vec())
                .unwrap_err();
            assert!(
                matches!(err, WeightsError::Read { .. }),
                "{name}[..{keep}]: {err}"
            );
        }
    }
    let bytes = read(&fixtures().join("basic.pth"));
    let path = std::env::temp_dir().join(format!("spotdiff-truncated-{}.pth", std::process::id()));
    for keep in [0, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let result = fresh("basic").load_pytorch(&path);
        assert!(result.is_err(), "basic.pth[..{keep}] loaded");
    }
    std::fs::remove_file(&path).unwrap();
}
