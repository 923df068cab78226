//! The run folder's checkpoint: the model's float tensors (parameters and
//! running statistics) and the optimiser's state, each keyed by its
//! parameter's module path (`backbone.layer1.0.conv1.weight`) in sorted
//! order, and the position in the run. burn's own records would key both by
//! parameter ids, which every process draws anew at random, and write the
//! optimiser's state in hash-map order, so one training state would give
//! different bytes in an uninterrupted and a resumed run; keyed by path, the
//! same state always gives the same files.
//!
//! A checkpoint is written into a fresh folder that then replaces the old
//! one, so a crash never leaves a half-written checkpoint: a kill between
//! the two renames leaves the previous checkpoint aside, which
//! [`present`] puts back.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::Optimizer;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Record, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use spotdiff::pretrain::Pretrain;

use super::stop::{halt_for_tests, Halt};

const FOLDER: &str = "checkpoint";
/// The checkpoint being written.
const FRESH: &str = "checkpoint.partial";
/// The previous checkpoint while the fresh one takes its place.
const ASIDE: &str = "checkpoint.old";
const MODEL: &str = "model.bin";
const OPTIMIZER: &str = "optimizer.bin";
const POSITION: &str = "position.json";

/// Where training stands: the next batch to run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub epoch: u64,
    /// The next batch within `epoch`.
    pub batch: usize,
    /// Optimisation steps done so far.
    pub step: u64,
}

impl Position {
    /// A new run's.
    pub const START: Position = Position {
        epoch: 0,
        batch: 0,
        step: 0,
    };

    /// The first batch of the next epoch.
    pub fn next_epoch(self) -> Position {
        Position {
            epoch: self.epoch + 1,
            batch: 0,
            step: self.step,
        }
    }
}

/// The optimiser's state of one parameter, as its record stores it.
type StateItem<R, B> = <R as Record<B>>::Item<FullPrecisionSettings>;

fn recorder() -> BinBytesRecorder<FullPrecisionSettings> {
    BinBytesRecorder::default()
}

pub fn folder(out: &Path) -> PathBuf {
    out.join(FOLDER)
}

/// Writes the checkpoint of `model` and `optimizer` at `position`.
pub fn save<B, M, O, R>(
    out: &Path,
    model: &M,
    optimizer: &O,
    position: Position,
) -> anyhow::Result<()>
where
    B: AutodiffBackend,
    M: Pretrain<B>,
    O: Optimizer<M, B>,
    O::Record: IntoIterator<Item = (ParamId, R)>,
    R: Record<B>,
{
    // `valid` first folds in the running statistics' pending updates.
    let mut tensors = Tensors::default();
    model.valid().visit(&mut tensors);
    let state: BTreeMap<&str, StateItem<R, B>> = optimizer
        .to_record()
        .into_iter()
        .map(|(id, state)| {
            let path = tensors
                .paths
                .get(&id)
                .context("the optimiser holds the state of a parameter the model does not have")?;
            Ok((path.as_str(), state.into_item()))
        })
        .collect::<anyhow::Result<_>>()?;
    let fresh = out.join(FRESH);
    let aside = out.join(ASIDE);
    for stale in [&fresh, &aside] {
        if stale.exists() {
            std::fs::remove_dir_all(stale)
                .with_context(|| format!("cannot remove {}", stale.display()))?;
        }
    }
    std::fs::create_dir_all(&fresh)
        .with_context(|| format!("cannot create {}", fresh.display()))?;
    for (name, bytes) in [
        (MODEL, encode(&tensors.data, "the model")?),
        (OPTIMIZER, encode(&state, "the optimiser state")?),
        (POSITION, serde_json::to_vec_pretty(&position)?),
    ] {
        let path = fresh.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let current = folder(out);
    if current.exists() {
        std::fs::rename(&current, &aside)
            .with_context(|| format!("cannot move {} aside", current.display()))?;
    }
    halt_for_tests(Halt::BetweenRenames, position.step);
    std::fs::rename(&fresh, &current)
        .with_context(|| format!("cannot move {} to {}", fresh.display(), current.display()))?;
    if aside.exists() {
        std::fs::remove_dir_all(&aside)
            .with_context(|| format!("cannot remove {}", aside.display()))?;
    }
    Ok(())
}

/// Whether the run in `out` has a checkpoint. A run killed between a
/// checkpoint's two renames has only the previous one, moved aside; it is
/// put back.
pub fn present(out: &Path) -> anyhow::Result<bool> {
    let current = folder(out);
    let aside = out.join(ASIDE);
    if !current.is_dir() && aside.is_dir() {
        std::fs::rename(&aside, &current).with_context(|| {
            format!(
                "cannot put the checkpoint {} back in {}",
                aside.display(),
                current.display()
            )
        })?;
    }
    Ok(current.is_dir())
}

/// Loads the checkpoint into `model` and `optimizer` (fresh ones of the same
/// run) and returns where to continue.
pub fn load<B, M, O, R>(
    out: &Path,
    model: M,
    optimizer: O,
    device: &B::Device,
) -> anyhow::Result<(M, O, Position)>
where
    B: AutodiffBackend,
    M: Pretrain<B>,
    O: Optimizer<M, B>,
    O::Record: FromIterator<(ParamId, R)>,
    R: Record<B>,
{
    let dir = folder(out);
    let read = |name: &str| {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "cannot read {}: the checkpoint is incomplete",
                path.display()
            )
        })?;
        Ok::<_, anyhow::Error>((path, bytes))
    };
    let (path, bytes) = read(MODEL)?;
    let mut restore = Restore {
        tensors: decode(&bytes, &path)?,
        path: Vec::new(),
        ids: HashMap::new(),
        problems: Vec::new(),
    };
    let model = model.map(&mut restore);
    restore.problems.extend(
        restore
            .tensors
            .keys()
            .map(|name| format!("{name} is not in this run's model")),
    );
    if !restore.problems.is_empty() {
        anyhow::bail!(
            "{} does not fit this run's model: {}",
            path.display(),
            restore.problems.join("; ")
        );
    }
    let (path, bytes) = read(OPTIMIZER)?;
    let state: BTreeMap<String, StateItem<R, B>> = decode(&bytes, &path)?;
    let record = state
        .into_iter()
        .map(|(name, item)| {
            let id = restore.ids.get(&name).with_context(|| {
                format!(
                    "{} holds the state of {name}, which this run's model does not have",
                    path.display()
                )
            })?;
            Ok((*id, R::from_item(item, device)))
        })
        .collect::<anyhow::Result<O::Record>>()?;
    let (path, bytes) = read(POSITION)?;
    let position: Position = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a checkpoint position", path.display()))?;
    Ok((model, optimizer.load_record(record), position))
}

/// The checkpoint files' encoding: bincode's standard configuration, the
/// bytes burn's binary recorder writes, read with a bound so that a damaged
/// length cannot ask for more memory than any checkpoint needs. (burn's own
/// recorder panics on malformed bytes instead of returning its error.)
fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ 1 << 32 }>()
}

/// `value` in the checkpoint's encoding.
fn encode<T: Serialize>(value: &T, what: &str) -> anyhow::Result<Vec<u8>> {
    bincode::serde::encode_to_vec(value, bincode_config())
        .with_context(|| format!("cannot serialise {what}"))
}

/// The value [`encode`] wrote into `bytes`, read from `path`.
fn decode<T: DeserializeOwned>(bytes: &[u8], path: &Path) -> anyhow::Result<T> {
    let not_ours = || {
        format!(
            "{} is not a checkpoint written by this spotdiff",
            path.display()
        )
    };
    let (value, read) =
        bincode::serde::decode_from_slice(bytes, bincode_config()).with_context(not_ours)?;
    if read != bytes.len() {
        anyhow::bail!(
            "{} (it has {} bytes after its end)",
            not_ours(),
            bytes.len() - read
        );
    }
    Ok(value)
}

/// Collects every float tensor of a module by its dotted path, and the
/// path of each parameter id.
#[derive(Default)]
struct Tensors {
    path: Vec<String>,
    data: BTreeMap<String, TensorData>,
    paths: HashMap<ParamId, String>,
}

impl<B: Backend> ModuleVisitor<B> for Tensors {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let name = self.path.join(".");
        self.paths.insert(param.id, name.clone());
        self.data.insert(name, param.val().into_data());
    }
}

/// Puts the saved tensors into a module by path, noting the id each path
/// has in this process and every tensor that is missing or of another
/// shape.
struct Restore {
    tensors: BTreeMap<String, TensorData>,
    path: Vec<String>,
    ids: HashMap<String, ParamId>,
    problems: Vec<String>,
}

impl<B: Backend> ModuleMapper<B> for Restore {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let name = self.path.join(".");
        self.ids.insert(name.clone(), param.id);
        let Some(data) = self.tensors.remove(&name) else {
            self.problems.push(format!("{name} is missing"));
            return param;
        };
        let expected = param.shape();
        if data.shape != expected {
            self.problems.push(format!(
                "{name} has the shape {}, the model's is {expected}",
                data.shape
            ));
            return param;
        }
        let id = param.id;
        let tensor = Tensor::from_data(data, &param.device());
        // burn's own loading: the parameter's device and autodiff setting.
        param.transform_for_load(tensor, id)
    }
}

/// `optimizer`'s state with its tensors on `device`: a data-parallel peer's
/// optimiser starts as peer 0's, through its record's bytes.
pub fn optimizer_on<B, M, O>(optimizer: &O, device: &B::Device) -> anyhow::Result<O>
where
    B: AutodiffBackend,
    M: Pretrain<B>,
    O: Optimizer<M, B>,
{
    let bytes = recorder()
        .record(optimizer.to_record(), ())
        .context("cannot serialise the optimiser state")?;
    let record = recorder()
        .load(bytes, device)
        .context("cannot load the optimiser state on another device")?;
    Ok(optimizer.clone().load_record(record))
}
