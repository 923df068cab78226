//! The run folder's checkpoint: model and optimiser records (burn's
//! full-precision binary format) and the position in the run, written into
//! a fresh folder that then replaces the old one, so a crash never leaves a
//! half-written checkpoint.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::optim::Optimizer;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use spotdiff::pretrain::Pretrain;

const FOLDER: &str = "checkpoint";
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

fn recorder() -> BinBytesRecorder<FullPrecisionSettings> {
    BinBytesRecorder::default()
}

pub fn folder(out: &Path) -> PathBuf {
    out.join(FOLDER)
}

pub fn save<B, M, O>(out: &Path, model: &M, optimizer: &O, position: Position) -> anyhow::Result<()>
where
    B: AutodiffBackend,
    M: Pretrain<B>,
    O: Optimizer<M, B>,
{
    let fresh = out.join("checkpoint.partial");
    let old = out.join("checkpoint.old");
    for stale in [&fresh, &old] {
        if stale.exists() {
            std::fs::remove_dir_all(stale)
                .with_context(|| format!("cannot remove {}", stale.display()))?;
        }
    }
    std::fs::create_dir_all(&fresh)
        .with_context(|| format!("cannot create {}", fresh.display()))?;
    let model_bytes = recorder()
        .record(model.clone().into_record(), ())
        .context("cannot serialise the model")?;
    let optimizer_bytes = recorder()
        .record(optimizer.to_record(), ())
        .context("cannot serialise the optimiser state")?;
    for (name, bytes) in [
        (MODEL, model_bytes),
        (OPTIMIZER, optimizer_bytes),
        (POSITION, serde_json::to_vec_pretty(&position)?),
    ] {
        let path = fresh.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let current = folder(out);
    if current.exists() {
        std::fs::rename(&current, &old)
            .with_context(|| format!("cannot move {} aside", current.display()))?;
    }
    std::fs::rename(&fresh, &current)
        .with_context(|| format!("cannot move {} to {}", fresh.display(), current.display()))?;
    if old.exists() {
        std::fs::remove_dir_all(&old)
            .with_context(|| format!("cannot remove {}", old.display()))?;
    }
    Ok(())
}

/// Loads the checkpoint into `model` and `optimizer` (fresh ones of the same
/// run) and returns where to continue.
pub fn load<B, M, O>(
    out: &Path,
    model: M,
    optimizer: O,
    device: &B::Device,
) -> anyhow::Result<(M, O, Position)>
where
    B: AutodiffBackend,
    M: Pretrain<B>,
    O: Optimizer<M, B>,
{
    let dir = folder(out);
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).with_context(|| {
            format!(
                "cannot read {}: the checkpoint is incomplete",
                path.display()
            )
        })
    };
    let model_record = recorder().load(read(MODEL)?, device).with_context(|| {
        format!(
            "{} does not fit this run's model",
            dir.join(MODEL).display()
        )
    })?;
    let optimizer_record = recorder().load(read(OPTIMIZER)?, device).with_context(|| {
        format!(
            "{} does not fit this run's optimiser",
            dir.join(OPTIMIZER).display()
        )
    })?;
    let position: Position = serde_json::from_slice(&read(POSITION)?).with_context(|| {
        format!(
            "{} is not a checkpoint position",
            dir.join(POSITION).display()
        )
    })?;
    Ok((
        model.load_record(model_record),
        optimizer.load_record(optimizer_record),
        position,
    ))
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
