//! Weight files: the whole torchvision ↔ spotdiff name mapping.
//!
//! Files hold torchvision's state-dict names and layouts. Module paths
//! already equal them (field names, `Vec` indices, the [`Downsample`] tuple's
//! `0`/`1`) except for three differences, handled here and nowhere else:
//!
//! 1. BatchNorm `weight`/`bias` are burn's `gamma`/`beta`, and `fc.weight`
//!    is stored `[out, in]` by PyTorch and `[in, out]` by burn: burn-store's
//!    `PyTorchToBurnAdapter` / `BurnToPyTorchAdapter` convert both.
//! 2. The [`Block`] enum adds its variant to burn's paths
//!    (`layer1.0.Basic.conv1`): the stores skip enum variants.
//! 3. torchvision's `num_batches_tracked` counters only drive BatchNorm's
//!    momentum-free mode, which torchvision does not use: ignored on import,
//!    not written on export.
//!
//! Imports are strict: every tensor of the model must be in the file with
//! its shape and element type, and the file may hold nothing else, so a
//! ResNet-18 file never half-loads into a ResNet-50 or another width. All
//! problems are reported at once, by torchvision name.
//!
//! A file's format is told by its first bytes ([`WeightFormat::detect`]),
//! never by its name, and its architecture by its tensor names and shapes
//! ([`StoredArchitecture`]), read before any model is built, so a file
//! chooses the network it loads into instead of being squeezed into a
//! guessed one.
//!
//! [`Downsample`]: super::Downsample
//! [`Block`]: super::Block

use std::collections::BTreeMap;
use std::fmt;

use burn::tensor::backend::Backend;
use burn_store::{
    ApplyError, ApplyResult, BurnToPyTorchAdapter, HalfPrecisionAdapter, ModuleAdapter,
    ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, SafetensorsStore, TensorSnapshot,
};

use super::backbone::Backbone;
use super::block::BlockKind;
use super::error::{TensorProblem, WeightFormat, WeightsError};
use super::resnet::{ResNet, ResNetConfig};
use super::trunk::ResNetTrunk;

/// Suffix of the BatchNorm counters torchvision saves and spotdiff ignores.
const IGNORED_SUFFIX: &str = ".num_batches_tracked";

/// How stored floats are kept: full precision, or half where accuracy allows
/// (in a weights file: the convolutions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Precision {
    /// Every tensor float32, as torchvision saves them.
    #[cfg_attr(feature = "clap", value(name = "f32"))]
    F32,
    /// Convolution weights float16, batch norms float32 (their running
    /// variances underflow in f16): half the size, for browser bundles.
    #[cfg_attr(feature = "clap", value(name = "f16"))]
    F16,
}

impl<B: Backend> ResNet<B> {
    /// Loads a safetensors file (its bytes) holding a torchvision state dict
    /// or one written by [`ResNet::to_safetensors`].
    ///
    /// Consumes the model so that a failed import leaves no half-loaded one.
    pub fn load_safetensors(self, bytes: Vec<u8>) -> Result<Self, WeightsError> {
        load_safetensors(self, bytes, Precision::F32)
    }

    /// Loads a PyTorch file (`torch.save(model.state_dict(), path)`, as
    /// torchvision publishes its ImageNet weights).
    ///
    /// Takes a path, not bytes, because burn-store reads the zip archive of
    /// a `.pth` only from a file; native only, as that reader does not build
    /// for wasm (convert to safetensors for the browser).
    #[cfg(not(target_family = "wasm"))]
    pub fn load_pytorch(self, path: impl AsRef<std::path::Path>) -> Result<Self, WeightsError> {
        let store = burn_store::PytorchStore::from_file(path.as_ref())
            // Names must match exactly: no renumbering of Sequential indices.
            .map_indices_contiguous(false)
            .validate(false)
            .allow_partial(true);
        import(self, store, WeightFormat::Pytorch, Precision::F32)
    }

    /// Writes the weights as safetensors with torchvision's names and layouts.
    /// PyTorch's `load_state_dict` takes the result as is, even with
    /// `strict=True`: BatchNorm fills in the `num_batches_tracked` counters
    /// this file lacks (checked with torch 2.15).
    pub fn to_safetensors(&self) -> Result<Vec<u8>, WeightsError> {
        to_safetensors(self, Precision::F32)
    }

    /// Every tensor a weight file holds for this model: torchvision's name
    /// and shape, in module order.
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        file_view(self, Precision::F32)
            .into_iter()
            .map(|s| (s.full_path(), s.shape.to_vec()))
            .collect()
    }
}

impl<B: Backend> ResNetTrunk<B> {
    /// Loads a safetensors file of exactly the trunk's tensors (a full
    /// network's file has layer4 and fc too and is refused: cut it with
    /// [`ResNet::into_trunk`] first) whose convolutions are `precision`.
    pub fn load_safetensors(
        self,
        bytes: Vec<u8>,
        precision: Precision,
    ) -> Result<Self, WeightsError> {
        load_safetensors(self, bytes, precision)
    }

    /// Writes the trunk's weights as safetensors with torchvision's names,
    /// convolutions in `precision`.
    pub fn to_safetensors(&self, precision: Precision) -> Result<Vec<u8>, WeightsError> {
        to_safetensors(self, precision)
    }
}

impl WeightFormat {
    /// The format of a weight file, from its first bytes: a zip archive
    /// (`torch.save` since PyTorch 1.6) or a pickle (older `torch.save`) is
    /// PyTorch's; a little-endian header length that fits the file followed
    /// by a JSON object is safetensors. `None` for anything else.
    pub fn detect(bytes: &[u8]) -> Option<Self> {
        const ZIP: &[u8] = b"PK\x03\x04";
        // Pickle protocols 2 to 5 open with PROTO (0x80) and the protocol.
        let pickle = matches!(bytes, [0x80, 2..=5, ..]);
        if bytes.starts_with(ZIP) || pickle {
            return Some(WeightFormat::Pytorch);
        }
        let header_fits = bytes
            .get(..8)
            .map(|prefix| u64::from_le_bytes(prefix.try_into().expect("eight bytes")))
            .is_some_and(|length| length <= (bytes.len() - 8) as u64);
        (header_fits && bytes.get(8) == Some(&b'{')).then_some(WeightFormat::Safetensors)
    }
}

/// A ResNet's architecture as its weight file shows it: read from tensor
/// names and shapes alone, before a model exists, so that the file decides
/// the network it loads into (`conv1.weight` is `[stem channels, 3, 7, 7]`,
/// a bottleneck block has a `conv3`, each stage's blocks are numbered from
/// 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArchitecture {
    pub block: BlockKind,
    /// Blocks in layer1..layer4; layer4 is 0 in a trunk's file.
    pub layers: [usize; 4],
    /// The stem's output channels, `round(64 * width)`.
    pub stem_channels: usize,
    /// The classifier's outputs; `None` in a trunk's file.
    pub num_classes: Option<usize>,
}

impl StoredArchitecture {
    /// The architecture of a safetensors file's tensors.
    pub fn of_safetensors(bytes: &[u8]) -> Result<Self, WeightsError> {
        Self::of_shapes(&safetensors_shapes(bytes)?, WeightFormat::Safetensors)
    }

    /// The architecture of a PyTorch file's tensors (their values are not
    /// read).
    #[cfg(not(target_family = "wasm"))]
    pub fn of_pytorch(path: impl AsRef<std::path::Path>) -> Result<Self, WeightsError> {
        let reader =
            burn_store::pytorch::PytorchReader::new(path).map_err(|e| WeightsError::Read {
                format: WeightFormat::Pytorch,
                message: e.to_string(),
            })?;
        let shapes: BTreeMap<String, Vec<usize>> = reader
            .tensors()
            .iter()
            .map(|(name, tensor)| (name.clone(), tensor.shape.to_vec()))
            .collect();
        Self::of_shapes(&shapes, WeightFormat::Pytorch)
    }

    fn of_shapes(
        shapes: &BTreeMap<String, Vec<usize>>,
        format: WeightFormat,
    ) -> Result<Self, WeightsError> {
        let not_a_resnet = |why: String| WeightsError::Read {
            format,
            message: format!("not a torchvision ResNet: {why}"),
        };
        let stem_channels = match shapes.get("conv1.weight").map(Vec::as_slice) {
            Some(&[channels, 3, 7, 7]) if channels > 0 => channels,
            Some(shape) => {
                return Err(not_a_resnet(format!(
                    "`conv1.weight` has shape {shape:?}, a ResNet stem's is [channels, 3, 7, 7]"
                )))
            }
            None => return Err(not_a_resnet("it has no `conv1.weight`".into())),
        };
        let block = if shapes.contains_key("layer1.0.conv3.weight") {
            BlockKind::Bottleneck
        } else {
            BlockKind::Basic
        };
        let layers: [usize; 4] = core::array::from_fn(|stage| {
            (0..)
                .take_while(|j| {
                    shapes.contains_key(&format!("layer{}.{j}.conv1.weight", stage + 1))
                })
                .count()
        });
        if let Some(stage) = layers[..3].iter().position(|&blocks| blocks == 0) {
            return Err(not_a_resnet(format!("it has no `layer{}.0`", stage + 1)));
        }
        let num_classes = shapes
            .get("fc.weight")
            .and_then(|shape| shape.first().copied());
        Ok(Self {
            block,
            layers,
            stem_channels,
            num_classes,
        })
    }

    /// The width multiplier that gives these stem channels (`stem / 64`);
    /// every width that rounds to the same stem builds the same network.
    pub fn width(&self) -> f64 {
        self.stem_channels as f64 / 64.0
    }

    /// Which of spotdiff's backbones this is, judged by the stages the file
    /// holds (layer1–layer3 of a trunk's file).
    pub fn backbone(&self) -> Option<Backbone> {
        Backbone::ALL.into_iter().find(|backbone| {
            let config = backbone.config(1.0);
            let stored = if self.layers[3] == 0 { 3 } else { 4 };
            config.block == self.block && config.layers[..stored] == self.layers[..stored]
        })
    }

    /// Whether `config`'s stem to layer3 is this file's: the same block,
    /// blocks per stage and stem channels.
    pub fn trunk_is(&self, config: &ResNetConfig) -> bool {
        config.block == self.block
            && config.layers[..3] == self.layers[..3]
            && config.base_channels().ok() == Some(self.stem_channels)
    }
}

impl fmt::Display for StoredArchitecture {
    /// "resnet18 of width 0.25 (16 stem channels)", "resnet50 trunk of …",
    /// or the blocks of another ResNet.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trunk = if self.layers[3] == 0 { " trunk" } else { "" };
        match self.backbone() {
            Some(backbone) => write!(f, "{backbone}{trunk}")?,
            None => {
                let blocks = match self.block {
                    BlockKind::Basic => "basic blocks",
                    BlockKind::Bottleneck => "bottleneck blocks",
                };
                let stages = if self.layers[3] == 0 { 3 } else { 4 };
                let counts: Vec<String> =
                    self.layers[..stages].iter().map(usize::to_string).collect();
                write!(f, "ResNet{trunk} with {blocks} {}", counts.join("-"))?;
            }
        }
        write!(
            f,
            " of width {} ({} stem channels)",
            self.width(),
            self.stem_channels
        )
    }
}

/// Every tensor's name and shape in a safetensors file, from its header
/// alone; each shape is checked against the bytes it claims in the file, so
/// no shape read here can describe more values than the file holds.
fn safetensors_shapes(bytes: &[u8]) -> Result<BTreeMap<String, Vec<usize>>, WeightsError> {
    let invalid = |why: String| WeightsError::Read {
        format: WeightFormat::Safetensors,
        message: why,
    };
    let length = bytes
        .get(..8)
        .map(|prefix| u64::from_le_bytes(prefix.try_into().expect("eight bytes")))
        .ok_or_else(|| invalid("the file is shorter than the 8-byte header length".into()))?;
    let data_start = usize::try_from(length)
        .ok()
        .and_then(|length| length.checked_add(8))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| {
            invalid(format!(
                "the header claims {length} bytes, but the file has {}",
                bytes.len()
            ))
        })?;
    let header: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&bytes[8..data_start])
        .map_err(|e| invalid(format!("the header is not a JSON object ({e})")))?;
    let data = (bytes.len() - data_start) as u128;
    #[derive(serde::Deserialize)]
    struct Entry {
        dtype: String,
        shape: Vec<usize>,
        data_offsets: [u64; 2],
    }
    let mut shapes = BTreeMap::new();
    for (name, value) in header {
        if name == "__metadata__" {
            continue;
        }
        let entry: Entry =
            serde_json::from_value(value).map_err(|e| invalid(format!("tensor `{name}`: {e}")))?;
        let element = dtype_bytes(&entry.dtype).ok_or_else(|| {
            invalid(format!(
                "tensor `{name}` has unknown dtype `{}`",
                entry.dtype
            ))
        })?;
        let [start, end] = entry.data_offsets.map(u128::from);
        // u128: a product of a few usize dimensions that overflows it would
        // need more than 2^64 of them.
        let values = entry
            .shape
            .iter()
            .try_fold(1u128, |product, &side| product.checked_mul(side as u128));
        if start > end || end > data || values.map(|n| n * element) != Some(end - start) {
            return Err(invalid(format!(
                "tensor `{name}` of shape {:?} ({}) does not fill its bytes {start}..{end} of the {data} after the header",
                entry.shape, entry.dtype
            )));
        }
        shapes.insert(name, entry.shape);
    }
    Ok(shapes)
}

/// Bytes per value of a safetensors dtype.
fn dtype_bytes(dtype: &str) -> Option<u128> {
    Some(match dtype {
        "F64" | "I64" | "U64" => 8,
        "F32" | "I32" | "U32" => 4,
        "F16" | "BF16" | "I16" | "U16" => 2,
        "I8" | "U8" | "BOOL" | "F8_E4M3" | "F8_E5M2" => 1,
        _ => return None,
    })
}

/// The conversions between the model and a file of `precision`.
fn adapters(precision: Precision) -> (Box<dyn ModuleAdapter>, Box<dyn ModuleAdapter>) {
    match precision {
        Precision::F32 => (
            Box::new(PyTorchToBurnAdapter),
            Box::new(BurnToPyTorchAdapter),
        ),
        // The half-precision adapter casts f16 -> f32 on load and f32 -> f16
        // on save.
        Precision::F16 => (
            Box::new(PyTorchToBurnAdapter.chain(HalfPrecisionAdapter::new())),
            Box::new(BurnToPyTorchAdapter.chain(HalfPrecisionAdapter::new())),
        ),
    }
}

fn load_safetensors<B: Backend, M: ModuleSnapshot<B>>(
    model: M,
    bytes: Vec<u8>,
    precision: Precision,
) -> Result<M, WeightsError> {
    let (from, _) = adapters(precision);
    let store = SafetensorsStore::from_bytes(Some(bytes))
        .with_from_adapter(BoxedAdapter(from))
        .skip_enum_variants(true)
        .validate(false)
        .allow_partial(true);
    import(model, store, WeightFormat::Safetensors, precision)
}

fn to_safetensors<B: Backend, M: ModuleSnapshot<B>>(
    model: &M,
    precision: Precision,
) -> Result<Vec<u8>, WeightsError> {
    let (_, to) = adapters(precision);
    let mut store = SafetensorsStore::from_bytes(None)
        .with_to_adapter(BoxedAdapter(to))
        .skip_enum_variants(true);
    model
        .save_into(&mut store)
        .map_err(|e| WeightsError::Write(e.to_string()))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| WeightsError::Write(e.to_string()))?;
    with_sorted_header(bytes)
}

/// The same safetensors file with its JSON header's keys in sorted order.
/// burn-store writes the `__metadata__` entries in hash-map order, which
/// changes from run to run; sorted, the same weights always give the same
/// bytes, so a run's outputs can be checked by hash. The header keeps its
/// length (the same keys and values), so no offset moves.
fn with_sorted_header(mut bytes: Vec<u8>) -> Result<Vec<u8>, WeightsError> {
    let invalid = |why: &str| WeightsError::Write(format!("burn-store wrote {why}"));
    let length = bytes
        .get(..8)
        .map(|prefix| u64::from_le_bytes(prefix.try_into().expect("eight bytes")))
        .ok_or_else(|| invalid("no safetensors header length"))?;
    let end = usize::try_from(length)
        .ok()
        .and_then(|length| length.checked_add(8))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| invalid("a header longer than the file"))?;
    let header: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&bytes[8..end])
        .map_err(|e| invalid(&format!("an unreadable header ({e})")))?;
    let sorted: BTreeMap<&String, BTreeMap<String, &serde_json::Value>> = header
        .iter()
        .map(|(key, value)| match value {
            serde_json::Value::Object(fields) => {
                Ok((key, fields.iter().map(|(k, v)| (k.clone(), v)).collect()))
            }
            _ => Err(invalid(&format!(
                "a header entry `{key}` that is no object"
            ))),
        })
        .collect::<Result<_, _>>()?;
    let mut text = serde_json::to_vec(&sorted).map_err(|e| invalid(&e.to_string()))?;
    if text.len() > end - 8 {
        return Err(invalid("a header that grew when sorted"));
    }
    // safetensors pads the header with spaces to its stated length.
    text.resize(end - 8, b' ');
    bytes[8..end].copy_from_slice(&text);
    Ok(bytes)
}

/// Lets a chosen-at-run-time adapter go where burn-store wants a concrete one.
struct BoxedAdapter(Box<dyn ModuleAdapter>);

impl ModuleAdapter for BoxedAdapter {
    fn adapt(&self, snapshot: &TensorSnapshot) -> TensorSnapshot {
        self.0.adapt(snapshot)
    }

    fn get_alternative_param_name(&self, param_name: &str, container_type: &str) -> Option<String> {
        self.0
            .get_alternative_param_name(param_name, container_type)
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        self.0.clone_box()
    }
}

/// The model's tensors as a file of `precision` names and lays them out.
fn file_view<B: Backend, M: ModuleSnapshot<B>>(
    model: &M,
    precision: Precision,
) -> Vec<TensorSnapshot> {
    model.collect(None, Some(adapters(precision).1), true)
}

/// Applies the file to the model, then checks that it matched the model
/// tensor for tensor (names, shapes, types), with nothing left over.
fn import<B: Backend, M: ModuleSnapshot<B>, S: ModuleStore>(
    mut model: M,
    mut store: S,
    format: WeightFormat,
    precision: Precision,
) -> Result<M, WeightsError> {
    let read = |e: S::Error| WeightsError::Read {
        format,
        message: e.to_string(),
    };
    // Applied before the comparison: the model's parameters are lazily
    // initialised, and describing one initialises it, so comparing first
    // drew random weights for every tensor only to replace them (7% of
    // `eval`); now only those the file does not fill are drawn.
    let result = model.load_from(&mut store).map_err(read)?;
    let problems = compare(
        &file_view(&model, precision),
        store.get_all_snapshots().map_err(read)?,
    );
    if !problems.is_empty() {
        return Err(WeightsError::Mismatch { format, problems });
    }
    let problems = leftovers(result);
    if !problems.is_empty() {
        return Err(WeightsError::Mismatch { format, problems });
    }
    Ok(model)
}

/// Missing, unexpected, mis-shaped and mis-typed tensors, in model order
/// then file order.
fn compare(
    expected: &[TensorSnapshot],
    file: &BTreeMap<String, TensorSnapshot>,
) -> Vec<TensorProblem> {
    let mut problems = Vec::new();
    for want in expected {
        let tensor = want.full_path();
        match file.get(&tensor) {
            None => problems.push(TensorProblem::Missing { tensor }),
            Some(got) if got.shape != want.shape => problems.push(TensorProblem::Shape {
                tensor,
                expected: want.shape.to_vec(),
                found: got.shape.to_vec(),
            }),
            Some(got) if got.dtype != want.dtype => problems.push(TensorProblem::DType {
                tensor,
                expected: format!("{:?}", want.dtype),
                found: format!("{:?}", got.dtype),
            }),
            Some(_) => {}
        }
    }
    let known: std::collections::HashSet<String> =
        expected.iter().map(TensorSnapshot::full_path).collect();
    problems.extend(
        file.keys()
            .filter(|name| !known.contains(*name) && !name.ends_with(IGNORED_SUFFIX))
            .map(|name| TensorProblem::Unexpected {
                tensor: name.clone(),
            }),
    );
    problems
}

/// What still went wrong while applying a file that passed [`compare`]:
/// unreadable tensor data, in practice.
fn leftovers(result: ApplyResult) -> Vec<TensorProblem> {
    let errors = result.errors.into_iter().map(|error| match error {
        ApplyError::ShapeMismatch {
            path,
            expected,
            found,
        } => TensorProblem::Shape {
            tensor: path,
            expected: expected.to_vec(),
            found: found.to_vec(),
        },
        ApplyError::DTypeMismatch {
            path,
            expected,
            found,
        } => TensorProblem::DType {
            tensor: path,
            expected: format!("{expected:?}"),
            found: format!("{found:?}"),
        },
        ApplyError::AdapterError { path, message } | ApplyError::LoadError { path, message } => {
            TensorProblem::Unreadable {
                tensor: path,
                message,
            }
        }
    });
    let missing = result
        .missing
        .into_iter()
        .map(|(tensor, _)| TensorProblem::Missing { tensor });
    errors.chain(missing).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResNetConfig, TestBackend};

    fn tiny() -> ResNet<TestBackend> {
        ResNetConfig::resnet18()
            .with_width(1.0 / 16.0)
            .with_num_classes(3)
            .init(&Default::default())
            .unwrap()
    }

    #[test]
    fn names_are_torchvision_names() {
        let names: Vec<String> = tiny().tensor_shapes().into_iter().map(|(n, _)| n).collect();
        for name in [
            "conv1.weight",
            "bn1.weight",
            "bn1.bias",
            "bn1.running_mean",
            "bn1.running_var",
            "layer1.0.conv1.weight",
            "layer2.0.downsample.0.weight",
            "layer2.0.downsample.1.running_var",
            "fc.weight",
            "fc.bias",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
        }
        assert!(!names
            .iter()
            .any(|n| n.contains("gamma") || n.contains("Basic")));
    }

    #[test]
    fn fc_weight_is_stored_out_by_in() {
        // base 4, layer4 out 32 channels, 3 classes: torchvision's [3, 32].
        let shapes = tiny().tensor_shapes();
        let fc = shapes.iter().find(|(n, _)| n == "fc.weight").unwrap();
        assert_eq!(fc.1, vec![3, 32]);
    }

    #[test]
    fn the_same_weights_give_the_same_bytes() {
        let model = ResNetConfig::resnet18()
            .with_width(1.0 / 16.0)
            .init::<TestBackend>(&Default::default())
            .unwrap();
        // burn-store's metadata comes in hash-map order, new for every map:
        // eight writes would disagree somewhere unless the header is sorted.
        let first = model.to_safetensors().unwrap();
        for _ in 0..7 {
            assert!(model.to_safetensors().unwrap() == first);
        }
        let length = u64::from_le_bytes(first[..8].try_into().unwrap()) as usize;
        let header = std::str::from_utf8(&first[8..8 + length]).unwrap();
        assert!(
            header.starts_with(r#"{"__metadata__":{"format":"#),
            "{header}"
        );
    }

    #[test]
    fn safetensors_round_trip_is_exact() {
        let device = Default::default();
        let model = tiny();
        let bytes = model.to_safetensors().unwrap();
        let loaded = tiny().load_safetensors(bytes).unwrap();
        let input = burn::tensor::Tensor::<TestBackend, 4>::ones([1, 3, 32, 32], &device);
        loaded
            .forward(input.clone())
            .into_data()
            .assert_eq(&model.forward(input).into_data(), true);
    }

    #[test]
    fn garbage_is_a_read_error() {
        let err = tiny()
            .load_safetensors(b"not safetensors".to_vec())
            .unwrap_err();
        assert!(matches!(
            err,
            WeightsError::Read {
                format: WeightFormat::Safetensors,
                ..
            }
        ));
    }

    #[test]
    fn the_format_is_told_by_the_first_bytes() {
        let safetensors = tiny().to_safetensors().unwrap();
        assert_eq!(
            WeightFormat::detect(&safetensors),
            Some(WeightFormat::Safetensors)
        );
        // torch.save's zip archive and the older pickle (protocol 2).
        assert_eq!(
            WeightFormat::detect(b"PK\x03\x04archive/data.pkl"),
            Some(WeightFormat::Pytorch)
        );
        assert_eq!(
            WeightFormat::detect(&[0x80, 0x02, 0x8a, 0x0a]),
            Some(WeightFormat::Pytorch)
        );
        assert_eq!(WeightFormat::detect(b"not weights at all"), None);
        // A header length beyond the file, as the zip read as safetensors
        // gave ("header too large"), is not safetensors.
        let mut claims_more = 100u64.to_le_bytes().to_vec();
        claims_more.extend_from_slice(b"{}");
        assert_eq!(WeightFormat::detect(&claims_more), None);
    }

    #[test]
    fn the_architecture_is_read_from_the_shapes() {
        // tiny(): stem 64/16 = 4 channels, basic blocks 2-2-2-2, 3 classes.
        let stored = StoredArchitecture::of_safetensors(&tiny().to_safetensors().unwrap()).unwrap();
        assert_eq!(
            stored,
            StoredArchitecture {
                block: BlockKind::Basic,
                layers: [2, 2, 2, 2],
                stem_channels: 4,
                num_classes: Some(3),
            }
        );
        assert_eq!(
            stored.to_string(),
            "resnet18 of width 0.0625 (4 stem channels)"
        );
        assert!(stored.trunk_is(&ResNetConfig::resnet18().with_width(0.06)));
        assert!(!stored.trunk_is(&ResNetConfig::resnet18().with_width(0.125)));

        let trunk = ResNetConfig::resnet50()
            .with_width(0.125)
            .init_trunk::<TestBackend>(&Default::default())
            .unwrap();
        let stored =
            StoredArchitecture::of_safetensors(&trunk.to_safetensors(Precision::F16).unwrap())
                .unwrap();
        assert_eq!(stored.layers, [3, 4, 6, 0]);
        assert_eq!(stored.num_classes, None);
        assert_eq!(
            stored.to_string(),
            "resnet50 trunk of width 0.125 (8 stem channels)"
        );
    }

    /// A safetensors file of one F32 tensor written by hand.
    fn one_tensor(shape: &str, offsets: [usize; 2], data: usize) -> Vec<u8> {
        let header = format!(
            r#"{{"conv1.weight":{{"dtype":"F32","shape":{shape},"data_offsets":[{},{}]}}}}"#,
            offsets[0], offsets[1]
        );
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.resize(bytes.len() + data, 0);
        bytes
    }

    #[test]
    fn shapes_must_fill_their_bytes_and_name_a_resnet() {
        // [2, 3, 7, 7] F32: 2·3·7·7·4 = 1176 bytes.
        let err = StoredArchitecture::of_safetensors(&one_tensor("[2,3,7,7]", [0, 1176], 1176))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read the safetensors weights: not a torchvision ResNet: it has no `layer1.0`"
        );
        // A shape of a million stems in 1176 bytes is refused before anything is sized by it.
        let err =
            StoredArchitecture::of_safetensors(&one_tensor("[1000000,3,7,7]", [0, 1176], 1176))
                .unwrap_err();
        assert!(
            err.to_string()
                .contains("tensor `conv1.weight` of shape [1000000, 3, 7, 7] (F32) does not fill its bytes 0..1176 of the 1176 after the header"),
            "{err}"
        );
        let err = StoredArchitecture::of_safetensors(&one_tensor("[2,3,7,7]", [0, 1176], 1000))
            .unwrap_err();
        assert!(err.to_string().contains("does not fill its bytes"), "{err}");
        let err = StoredArchitecture::of_safetensors(&one_tensor("[2,3,5,5]", [0, 600], 600))
            .unwrap_err();
        assert!(
            err.to_string().contains(
                "`conv1.weight` has shape [2, 3, 5, 5], a ResNet stem's is [channels, 3, 7, 7]"
            ),
            "{err}"
        );
    }

    #[test]
    fn other_width_names_every_mis_shaped_tensor() {
        let wider = ResNetConfig::resnet18()
            .with_width(1.0 / 8.0)
            .with_num_classes(3)
            .init::<TestBackend>(&Default::default())
            .unwrap();
        let err = tiny()
            .load_safetensors(wider.to_safetensors().unwrap())
            .unwrap_err();
        let WeightsError::Mismatch { problems, .. } = &err else {
            panic!("expected a mismatch, got {err}");
        };
        // conv1 is [4, 3, 7, 7] here, [8, 3, 7, 7] in the file.
        assert!(problems.contains(&TensorProblem::Shape {
            tensor: "conv1.weight".into(),
            expected: vec![4, 3, 7, 7],
            found: vec![8, 3, 7, 7],
        }));
        // Every tensor but fc.bias (3 classes in both) differs.
        assert_eq!(problems.len(), tiny().tensor_shapes().len() - 1);
        assert!(err
            .to_string()
            .contains("`conv1.weight` has shape [8, 3, 7, 7]"));
    }
}
