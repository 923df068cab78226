//! Data-parallel pre-training (`--devices N`) on burn's collective
//! operations (`burn::collective`): one peer per device, peer 0 on the
//! training loop's thread and the others on threads of their own. Every
//! peer starts from the same model and optimiser records; each step, each
//! takes its shard of the batch, the peers average their gradients with
//! burn's all-reduce and pool MoCo's new keys, and all make the same update,
//! so their weights stay equal. Batch norm normalises each shard on its own
//! device and only peer 0's running statistics are saved, as with
//! PyTorch's DistributedDataParallel.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use anyhow::Context;
use burn::collective::{
    all_reduce, finish_collective, register, CollectiveConfig, PeerId, ReduceOperation,
};
use burn::optim::Optimizer;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorPrimitive};
use spotdiff::pretrain::{
    apply_step, step_gradients, train_step, Batch, HostBatch, Pretrain, StepLosses,
};

use super::checkpoint::optimizer_on;

/// Where each step runs: on the one device, or sharded over a [`Team`].
pub struct Devices<'a, B: AutodiffBackend> {
    first: &'a B::Device,
    spd_weight: f64,
    team: Option<Team>,
}

impl<'a, B: AutodiffBackend> Devices<'a, B> {
    /// One device trains alone; several start a team from copies of
    /// `model` and `optimizer`, the caller on `devices[0]`.
    pub fn start<M, O>(
        devices: &'a [B::Device],
        model: &M,
        optimizer: &O,
        spd_weight: f64,
    ) -> anyhow::Result<Self>
    where
        M: Pretrain<B> + 'static,
        O: Optimizer<M, B> + 'static,
    {
        let team = match devices.len() {
            1 => None,
            _ => Some(Team::start::<B, M, O>(
                devices, model, optimizer, spd_weight,
            )?),
        };
        Ok(Devices {
            first: &devices[0],
            spd_weight,
            team,
        })
    }

    /// One step on `batch` at learning rate `lr`.
    pub fn step<M, O>(
        &self,
        model: M,
        optimizer: &mut O,
        batch: &HostBatch,
        lr: f64,
    ) -> anyhow::Result<(M, StepLosses)>
    where
        M: Pretrain<B>,
        O: Optimizer<M, B>,
    {
        match &self.team {
            None => Ok(train_step(
                model,
                optimizer,
                &batch.to_device::<B>(self.first),
                self.spd_weight,
                lr,
            )),
            Some(team) => team.step(model, optimizer, batch, self.first, lr),
        }
    }

    /// Ends training; a team's peers leave the collective.
    pub fn finish(self) -> anyhow::Result<()> {
        match self.team {
            None => Ok(()),
            Some(team) => team.finish::<B>(),
        }
    }
}

/// One device's place in the collective.
pub struct Peer {
    id: PeerId,
    index: usize,
    count: usize,
}

impl Peer {
    /// Joins the collective of `count` peers as peer `index` on `device`;
    /// returns once every peer has joined.
    pub fn join<B: AutodiffBackend>(
        index: usize,
        count: usize,
        device: &B::Device,
    ) -> anyhow::Result<Self> {
        let id = PeerId::from(index as u32);
        let config = CollectiveConfig::default().with_num_devices(count);
        register::<B::InnerBackend>(id, device.clone(), config)
            .map_err(|e| anyhow::anyhow!("device {index} cannot join the collective: {e:?}"))?;
        Ok(Peer { id, index, count })
    }

    /// One step on this peer's shard: its gradients, averaged with the
    /// other peers', and its new memory, pooled with theirs, then the
    /// update.
    pub fn step<B, M, O>(
        &self,
        model: M,
        optimizer: &mut O,
        shard: &Batch<B>,
        spd_weight: f64,
        lr: f64,
    ) -> anyhow::Result<(M, StepLosses)>
    where
        B: AutodiffBackend,
        M: Pretrain<B>,
        O: Optimizer<M, B>,
    {
        let (model, mut step) = step_gradients(model, shard, spd_weight);
        step.grads = step
            .grads
            .all_reduce::<B::InnerBackend>(self.id, ReduceOperation::Mean)
            .map_err(|e| self.failed("average the gradients", e))?;
        step.memory = step.memory.map(|part| self.gather(part)).transpose()?;
        let losses = step.losses;
        Ok((apply_step(model, optimizer, step, lr), losses))
    }

    /// Every peer's `part` stacked in peer order. Each peer places its part
    /// in zeros at its own offset and the all-reduce sums them: exact, as
    /// every element is one peer's value plus zeros.
    fn gather<B: AutodiffBackend>(&self, part: Tensor<B, 2>) -> anyhow::Result<Tensor<B, 2>> {
        let part = part.inner();
        let [rows, columns] = part.dims();
        let device = part.device();
        let zeros = |peers: usize| Tensor::zeros([peers * rows, columns], &device);
        let placed = Tensor::cat(
            vec![zeros(self.index), part, zeros(self.count - self.index - 1)],
            0,
        );
        let summed = all_reduce::<B::InnerBackend>(
            self.id,
            placed.into_primitive().tensor(),
            ReduceOperation::Sum,
        )
        .map_err(|e| self.failed("gather the new keys", e))?;
        Ok(Tensor::from_inner(Tensor::from_primitive(
            TensorPrimitive::Float(summed),
        )))
    }

    /// Leaves the collective at the end of training.
    pub fn leave<B: AutodiffBackend>(self) -> anyhow::Result<()> {
        finish_collective::<B::InnerBackend>(self.id)
            .map_err(|e| self.failed("leave the collective", e))
    }

    fn failed(&self, what: &str, error: burn::collective::CollectiveError) -> anyhow::Error {
        anyhow::anyhow!("device {} could not {what}: {error:?}", self.index)
    }
}

/// A step's work for a helper peer.
struct Job {
    shard: HostBatch,
    lr: f64,
}

/// A helper peer's thread and its channels.
struct Helper {
    jobs: SyncSender<Job>,
    reports: Receiver<anyhow::Result<StepLosses>>,
    thread: JoinHandle<()>,
}

/// Peer 0 (the caller) with peers 1.. on their own threads.
struct Team {
    peer: Peer,
    helpers: Vec<Helper>,
    spd_weight: f64,
}

impl Team {
    /// Starts a helper on each of `devices[1..]` from copies of `model` and
    /// `optimizer`, then joins the caller as peer 0 on `devices[0]`.
    pub fn start<B, M, O>(
        devices: &[B::Device],
        model: &M,
        optimizer: &O,
        spd_weight: f64,
    ) -> anyhow::Result<Self>
    where
        B: AutodiffBackend,
        M: Pretrain<B> + 'static,
        O: Optimizer<M, B> + 'static,
    {
        let count = devices.len();
        let mut helpers = Vec::new();
        for (index, device) in devices.iter().enumerate().skip(1) {
            let model = independent_copy(model, device);
            let optimizer = optimizer_on(optimizer, device)
                .with_context(|| format!("cannot copy the optimiser to device {index}"))?;
            let (jobs, inbox) = sync_channel::<Job>(1);
            let (outbox, reports) = sync_channel(1);
            let device = device.clone();
            let thread = std::thread::Builder::new()
                .name(format!("device {index}"))
                .spawn(move || {
                    serve::<B, M, O>(
                        index, count, &device, model, optimizer, spd_weight, &inbox, &outbox,
                    )
                })
                .context("cannot start a training thread")?;
            helpers.push(Helper {
                jobs,
                reports,
                thread,
            });
        }
        let peer = Peer::join::<B>(0, count, &devices[0])?;
        Ok(Team {
            peer,
            helpers,
            spd_weight,
        })
    }

    /// One step over all devices: shard `k` of `batch` on device `k`, peer
    /// 0's on `device`. The losses are the mean of the shards'.
    pub fn step<B, M, O>(
        &self,
        model: M,
        optimizer: &mut O,
        batch: &HostBatch,
        device: &B::Device,
        lr: f64,
    ) -> anyhow::Result<(M, StepLosses)>
    where
        B: AutodiffBackend,
        M: Pretrain<B>,
        O: Optimizer<M, B>,
    {
        let mut shards = batch.shards(self.helpers.len() + 1).into_iter();
        let own = shards.next().expect("one shard per device");
        for (helper, shard) in self.helpers.iter().zip(shards) {
            helper
                .jobs
                .send(Job { shard, lr })
                .map_err(|_| anyhow::anyhow!("a training thread stopped unexpectedly"))?;
        }
        let (model, own) = self.peer.step(
            model,
            optimizer,
            &own.to_device::<B>(device),
            self.spd_weight,
            lr,
        )?;
        let mut all = vec![own];
        for helper in &self.helpers {
            all.push(helper.reports.recv().unwrap_or_else(|_| {
                Err(anyhow::anyhow!("a training thread stopped unexpectedly"))
            })?);
        }
        Ok((model, mean(&all)))
    }

    /// Ends training: the helpers leave the collective, then peer 0.
    pub fn finish<B: AutodiffBackend>(self) -> anyhow::Result<()> {
        for helper in self.helpers {
            drop(helper.jobs);
            helper
                .thread
                .join()
                .map_err(|_| anyhow::anyhow!("a training thread failed"))?;
        }
        self.peer.leave::<B>()
    }
}

/// `model` on `device` with running statistics of its own: a clone would
/// share them (burn's `RunningState` is shared between clones and averages
/// the updates of all threads).
fn independent_copy<B: AutodiffBackend, M: Pretrain<B>>(model: &M, device: &B::Device) -> M {
    M::from_inner(model.valid()).fork(device)
}

/// A helper peer's loop: one step per job, until the jobs stop.
#[allow(clippy::too_many_arguments)]
fn serve<B, M, O>(
    index: usize,
    count: usize,
    device: &B::Device,
    mut model: M,
    mut optimizer: O,
    spd_weight: f64,
    jobs: &Receiver<Job>,
    reports: &SyncSender<anyhow::Result<StepLosses>>,
) where
    B: AutodiffBackend,
    M: Pretrain<B>,
    O: Optimizer<M, B>,
{
    let peer = match Peer::join::<B>(index, count, device) {
        Ok(peer) => peer,
        Err(error) => {
            let _ = reports.send(Err(error));
            return;
        }
    };
    for job in jobs {
        let shard = job.shard.to_device::<B>(device);
        match peer.step(model, &mut optimizer, &shard, spd_weight, job.lr) {
            Ok((next, losses)) => {
                model = next;
                if reports.send(Ok(losses)).is_err() {
                    return;
                }
            }
            Err(error) => {
                let _ = reports.send(Err(error));
                return;
            }
        }
    }
    // Training ended: an error here cannot change the saved results.
    let _ = peer.leave::<B>();
}

/// The mean of the shards' losses.
fn mean(losses: &[StepLosses]) -> StepLosses {
    let count = losses.len() as f64;
    let average = |pick: &dyn Fn(&StepLosses) -> f64| losses.iter().map(pick).sum::<f64>() / count;
    StepLosses {
        method: average(&|l| l.method),
        spd: losses[0]
            .spd
            .map(|_| average(&|l| l.spd.unwrap_or(f64::NAN))),
        total: average(&|l| l.total),
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::{Autodiff, Flex};
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::optim::GradientsParams;
    use burn::tensor::backend::{Backend, BackendTypes};
    use spotdiff::data::RgbImage;
    use spotdiff::model::ResNetConfig;
    use spotdiff::pretrain::{sgd, MethodKind, Moco, PretrainConfig, StepGradients, ViewBuilder};
    use spotdiff::rng::Rng;

    use super::*;

    type A = Autodiff<Flex>;
    const SIZE: u32 = 32;
    const LR: f64 = 0.05;
    const SPD_WEIGHT: f64 = 0.1;

    /// Step `step`'s batch: 4 noise images with MoCo's and SPD's views.
    fn batch(step: u64) -> HostBatch {
        let builder = ViewBuilder::new(MethodKind::Moco, SIZE, true, 5).unwrap();
        let items: Vec<_> = (0..4)
            .map(|i| {
                let mut rng = Rng::new(10 * step + i, 0);
                let image = RgbImage {
                    width: 40,
                    height: 36,
                    pixels: (0..3 * 40 * 36).map(|_| rng.unit()).collect(),
                };
                builder.item(&image, (i % 2) as i64, step, i).unwrap()
            })
            .collect();
        HostBatch::collate(&items, SIZE)
    }

    /// The two shards' gradients averaged parameter by parameter: what the
    /// all-reduce must give.
    struct Average {
        first: GradientsParams,
        second: GradientsParams,
        mean: GradientsParams,
    }

    impl ModuleVisitor<A> for Average {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<A, D>>) {
            let first = self.first.remove::<Flex, D>(param.id);
            let second = self.second.remove::<Flex, D>(param.id);
            if let (Some(first), Some(second)) = (first, second) {
                self.mean
                    .register::<Flex, D>(param.id, (first + second).div_scalar(2.0));
            }
        }
    }

    /// Every value of the model but batch norm's running statistics, which
    /// each peer gathers from its own shard.
    #[derive(Default)]
    struct Shared {
        path: Vec<String>,
        values: Vec<f32>,
    }

    impl ModuleVisitor<A> for Shared {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }

        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }

        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<A, D>>) {
            let name = self.path.last().map(String::as_str).unwrap_or("");
            if name != "running_mean" && name != "running_var" {
                self.values
                    .extend(param.val().into_data().to_vec::<f32>().unwrap());
            }
        }
    }

    fn shared(model: &Moco<A>) -> Vec<f32> {
        let mut visitor = Shared::default();
        model.visit(&mut visitor);
        visitor.values
    }

    /// Two MoCo + SPD peers on flex against one process stepping on the
    /// mean of the two shards' gradients with the two shards' keys queued:
    /// the peers agree with each other and with it, over two steps (the
    /// second reads the pooled queue and the momentum of the first).
    #[test]
    fn two_peers_step_as_one_on_the_mean_gradient() {
        let device = <A as BackendTypes>::Device::default();
        let config = PretrainConfig::new(
            MethodKind::Moco,
            ResNetConfig::resnet18().with_width(1.0 / 16.0),
        )
        .with_spd_weight(SPD_WEIGHT)
        .with_classes(2)
        .with_moco_queue(8);
        A::seed(&device, 3);
        let model = Moco::<A>::init(&config, &device).unwrap();

        let mut reference = independent_copy(&model, &device);
        let mut optimizer = sgd().init::<A, Moco<A>>();
        for step in 0..2 {
            let shards = batch(step).shards(2);
            let gradients = |shard: &HostBatch| {
                step_gradients(
                    independent_copy(&reference, &device),
                    &shard.to_device::<A>(&device),
                    SPD_WEIGHT,
                )
            };
            let (next, first) = gradients(&shards[0]);
            let (_, second) = gradients(&shards[1]);
            let mut average = Average {
                first: first.grads,
                second: second.grads,
                mean: GradientsParams::new(),
            };
            next.visit(&mut average);
            let memory = Tensor::cat(vec![first.memory.unwrap(), second.memory.unwrap()], 0);
            let step = StepGradients {
                grads: average.mean,
                losses: first.losses,
                memory: Some(memory),
            };
            reference = apply_step(next, &mut optimizer, step, LR);
        }

        let copies = [0, 1].map(|_| independent_copy(&model, &device));
        let peers: Vec<Moco<A>> = std::thread::scope(|scope| {
            let handles: Vec<_> = copies
                .into_iter()
                .enumerate()
                .map(|(index, mut model)| {
                    scope.spawn(move || {
                        let device = Default::default();
                        let peer = Peer::join::<A>(index, 2, &device).unwrap();
                        let mut optimizer = sgd().init::<A, Moco<A>>();
                        for step in 0..2 {
                            let shard = batch(step).shards(2).swap_remove(index);
                            let shard = shard.to_device::<A>(&device);
                            model = peer
                                .step(model, &mut optimizer, &shard, SPD_WEIGHT, LR)
                                .unwrap()
                                .0;
                        }
                        peer.leave::<A>().unwrap();
                        model
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });

        let expected = shared(&reference);
        let (first, second) = (shared(&peers[0]), shared(&peers[1]));
        assert_eq!(first.len(), expected.len());
        assert!(first == second, "the peers' weights differ");
        let largest = first
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(
            largest <= 1e-6,
            "the peers differ from the reference by {largest}"
        );
        // The first step moved the weights: the comparison is not of
        // untouched copies.
        assert_ne!(shared(&model), expected);
    }
}
