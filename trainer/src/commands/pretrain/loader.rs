//! The data loader: worker threads decode and augment whole batches ahead of
//! the training step, each into its own bounded queue. Batch `k` of an epoch
//! always comes from worker `k mod workers` and is read in order, and every
//! view is keyed by (seed, epoch, image), so batches are the same whatever
//! the number of workers.

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context;
use spotdiff::data::{DirSource, Sample, SizeLimit};
use spotdiff::pretrain::{HostBatch, ViewBuilder};

/// Batches each worker may hold ready.
const PREFETCH: usize = 2;

/// The training images with their class labels.
pub struct TrainingSet {
    pub source: DirSource,
    pub samples: Vec<(Sample, i64)>,
}

/// The batches `first..end` of one epoch, in order.
pub struct Loader {
    queues: Vec<Receiver<anyhow::Result<HostBatch>>>,
    workers: Vec<JoinHandle<()>>,
    next: usize,
    first: usize,
    end: usize,
}

impl Loader {
    /// Starts `workers` (at least 1) threads for batches `first..end` of `epoch`, whose
    /// image order is `order` (indices into the set).
    pub fn start(
        set: &Arc<TrainingSet>,
        builder: &Arc<ViewBuilder>,
        epoch: u64,
        order: Arc<Vec<usize>>,
        batch: usize,
        (first, end): (usize, usize),
        workers: usize,
    ) -> Self {
        let mut queues = Vec::new();
        let mut handles = Vec::new();
        for worker in 0..workers {
            let (sender, receiver) = sync_channel(PREFETCH);
            let (set, builder, order) = (Arc::clone(set), Arc::clone(builder), Arc::clone(&order));
            handles.push(std::thread::spawn(move || {
                for k in (first + worker..end).step_by(workers) {
                    let indices = &order[k * batch..(k + 1) * batch];
                    let made = build(&set, &builder, epoch, indices);
                    let failed = made.is_err();
                    // A closed queue means training stopped: nothing to do.
                    if sender.send(made).is_err() || failed {
                        return;
                    }
                }
            }));
            queues.push(receiver);
        }
        Loader {
            queues,
            workers: handles,
            next: first,
            first,
            end,
        }
    }
}

impl Iterator for Loader {
    type Item = anyhow::Result<HostBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let queue = &self.queues[(self.next - self.first) % self.queues.len()];
        self.next += 1;
        Some(
            queue.recv().unwrap_or_else(|_| {
                Err(anyhow::anyhow!("a data loader thread stopped unexpectedly"))
            }),
        )
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Closing the queues first lets blocked workers return.
        self.queues.clear();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// Decodes and augments the images of one batch.
fn build(
    set: &TrainingSet,
    builder: &ViewBuilder,
    epoch: u64,
    indices: &[usize],
) -> anyhow::Result<HostBatch> {
    let limit = SizeLimit::default();
    let items = indices
        .iter()
        .map(|&index| {
            let (sample, label) = &set.samples[index];
            let image = sample.load_image(&set.source, &limit)?;
            builder
                .item(&image, *label, epoch, index as u64)
                .with_context(|| format!("cannot augment {}", sample.describe()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(HostBatch::collate(&items, builder.size()))
}
