//! The SimSiam+SPD pre-training step alone (five views' forward and backward
//! passes and the SGD update, `spotdiff pretrain`'s `train_step`) on a batch
//! made once and kept on the device, so it compares with
//! `benches/pretrain_torch.py`, PyTorch's same step on the same kind of batch.
//! With the `wgpu` feature it also checks that flex and wgpu agree on the
//! losses from the same weights and batch (it needs a Vulkan driver, so it is
//! a bench and not part of the test suite).
//!
//! ```sh
//! cargo bench -p spotdiff-trainer --bench pretrain_step -- speed --backend flex
//! cargo bench -p spotdiff-trainer --profile dev --features wgpu --bench pretrain_step -- agree
//! ```

// The binary's own backend list, so the bench offers exactly the backends
// the build has; the bench does not check them (`matmul_error`).
#[allow(dead_code)]
#[path = "../src/backend.rs"]
mod backend;

use std::time::{Duration, Instant};

#[cfg(feature = "wgpu")]
use anyhow::Context;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::AutodiffBackend;
use clap::{Args, Parser};
use indicatif::{ProgressBar, ProgressStyle};
use spotdiff::kernels::on_compute_thread;
use spotdiff::model::ResNetConfig;
#[cfg(feature = "wgpu")]
use spotdiff::pretrain::StepLosses;
use spotdiff::pretrain::{sgd, train_step, HostBatch, MethodKind, PretrainConfig, SimSiam};
use spotdiff::rng::Rng;

use self::backend::BackendKind;

#[derive(Parser)]
enum Command {
    /// Images/s of the step after warm-up steps (shader compilation and
    /// autotuning on wgpu).
    Speed(SpeedArgs),
    /// The losses of two steps on flex and on wgpu from the same initial
    /// weights and batch; fails when either step's differ by more than
    /// `--tolerance` (the second step's losses see the first's gradients).
    #[cfg(feature = "wgpu")]
    Agree(AgreeArgs),
}

/// The demo settings of `spotdiff pretrain` by default.
#[derive(Args)]
struct Shape {
    #[arg(long, default_value_t = 32)]
    batch: usize,
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// ResNet-18's width multiplier.
    #[arg(long, default_value_t = 0.25)]
    width: f64,
    /// Seeds the weights and the batch.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Args)]
struct SpeedArgs {
    #[command(flatten)]
    shape: Shape,
    /// The backend to time: flex, or wgpu / cuda when built with that feature.
    #[arg(long, value_enum, default_value_t = BackendKind::Flex)]
    backend: BackendKind,
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    #[arg(long, default_value_t = 10)]
    steps: usize,
}

#[cfg(feature = "wgpu")]
#[derive(Args)]
struct AgreeArgs {
    #[command(flatten)]
    shape: Shape,
    #[arg(long, default_value_t = 1e-4)]
    tolerance: f64,
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench` to every bench binary.
    let command = Command::parse_from(std::env::args().filter(|argument| argument != "--bench"));
    match command {
        Command::Speed(args) => match args.backend {
            BackendKind::Flex => speed::<Autodiff<Flex>>(&args, Default::default()),
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => speed::<Autodiff<burn::backend::Wgpu>>(&args, Default::default()),
            #[cfg(feature = "cuda")]
            BackendKind::Cuda => speed::<Autodiff<burn::backend::Cuda>>(&args, Default::default()),
        },
        #[cfg(feature = "wgpu")]
        Command::Agree(args) => agree(&args),
    }
}

/// SimSiam with the SPD term at the seed's weight (0.1).
fn config(shape: &Shape) -> PretrainConfig {
    PretrainConfig::new(
        MethodKind::SimSiam,
        ResNetConfig::resnet18().with_width(shape.width),
    )
}

/// The learning rate of the schedule's first step (its value does not change
/// the step's cost).
fn learning_rate(shape: &Shape) -> f64 {
    MethodKind::SimSiam.base_learning_rate() * shape.batch as f64 / 256.0
}

/// Two strong views and SPD's three, of normal noise in place of normalised
/// images.
fn host_batch(shape: &Shape) -> HostBatch {
    let mut rng = Rng::new(shape.seed, 0);
    let values = shape.batch * 3 * shape.size * shape.size;
    let mut view = || -> Vec<f32> { (0..values).map(|_| rng.normal()).collect() };
    HostBatch {
        size: shape.size,
        views: vec![view(), view()],
        spd: Some([view(), view(), view()]),
        labels: vec![0; shape.batch],
    }
}

/// The steps on a thread of the kernels' pool, as `spotdiff pretrain` runs them.
fn speed<B: AutodiffBackend>(args: &SpeedArgs, device: B::Device) -> anyhow::Result<()> {
    on_compute_thread(|| time_steps::<B>(args, device))
}

fn time_steps<B: AutodiffBackend>(args: &SpeedArgs, device: B::Device) -> anyhow::Result<()> {
    let shape = &args.shape;
    if args.steps == 0 || shape.batch < 2 {
        anyhow::bail!("--steps must be at least 1 and --batch at least 2 (batch norm)");
    }
    B::seed(&device, shape.seed);
    let config = config(shape);
    let mut model = SimSiam::<B>::init(&config, &device)?;
    let mut optimizer = sgd().init::<B, SimSiam<B>>();
    let batch = host_batch(shape).to_device::<B>(&device);
    let bar = ProgressBar::new((args.warmup + args.steps) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} steps")
            .expect("the progress template is valid"),
    );
    let mut timed = Vec::with_capacity(args.steps);
    for step in 0..args.warmup + args.steps {
        bar.set_message(if step < args.warmup {
            "warm-up"
        } else {
            "timed"
        });
        let started = Instant::now();
        let (next, _) = train_step(
            model,
            &mut optimizer,
            &batch,
            config.spd_weight,
            learning_rate(shape),
        );
        model = next;
        // The update is queued on GPU backends; wait for it so each step's
        // time is its own.
        B::sync(&device).map_err(|e| anyhow::anyhow!("the device failed: {e:?}"))?;
        if step >= args.warmup {
            timed.push(started.elapsed());
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let total: Duration = timed.iter().sum();
    timed.sort();
    println!(
        "{}: SimSiam+SPD, ResNet-18 width {}, {} px, batch {}: {} steps in {:.2} s, \
         median step {:.3} s, {:.2} images/s",
        args.backend,
        shape.width,
        shape.size,
        shape.batch,
        args.steps,
        total.as_secs_f64(),
        timed[timed.len() / 2].as_secs_f64(),
        (args.steps * shape.batch) as f64 / total.as_secs_f64()
    );
    Ok(())
}

#[cfg(feature = "wgpu")]
fn agree(args: &AgreeArgs) -> anyhow::Result<()> {
    use burn::backend::Wgpu;
    use burn::module::Module;
    use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
    use burn::tensor::backend::Backend;

    type Cpu = Autodiff<Flex>;
    type Gpu = Autodiff<Wgpu>;
    let shape = &args.shape;
    let config = config(shape);
    let cpu_device = Default::default();
    let gpu_device = Default::default();
    Cpu::seed(&cpu_device, shape.seed);
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    // Both models load the same bytes: burn initialises parameters lazily, so
    // a clone of a fresh model would draw its own weights.
    let weights = recorder
        .record(
            SimSiam::<Cpu>::init(&config, &cpu_device)?.into_record(),
            (),
        )
        .context("cannot serialise the initial weights")?;
    let cpu_model = SimSiam::<Cpu>::init(&config, &cpu_device)?.load_record(
        recorder
            .load(weights.clone(), &cpu_device)
            .context("cannot load the initial weights on flex")?,
    );
    let gpu_model = SimSiam::<Gpu>::init(&config, &gpu_device)?.load_record(
        recorder
            .load(weights, &gpu_device)
            .context("cannot load the initial weights on wgpu")?,
    );
    let host = host_batch(shape);
    let cpu_taps = forward_taps(&cpu_model, &host, &cpu_device);
    let gpu_taps = forward_taps(&gpu_model, &host, &gpu_device);
    let taps: Vec<String> = cpu_taps
        .iter()
        .zip(&gpu_taps)
        .map(|((name, c), (_, g))| format!("{name} {:.2e}", largest_difference(c, g)))
        .collect();
    println!(
        "first view, forward in training mode, largest difference: {}",
        taps.join(", ")
    );
    let cpu_gradients = gradients(&cpu_model, &host, &cpu_device, config.spd_weight);
    let gpu_gradients = gradients(&gpu_model, &host, &gpu_device, config.spd_weight);
    let gradient_differences: Vec<String> = cpu_gradients
        .iter()
        .zip(&gpu_gradients)
        .map(|((name, c), (_, g))| {
            let scale = c.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            format!(
                "{name} {:.2e} (largest gradient {scale:.2e})",
                largest_difference(c, g)
            )
        })
        .collect();
    println!(
        "first step's gradients, largest difference: {}",
        gradient_differences.join(", ")
    );
    let base = (64.0 * shape.width).round() as usize;
    let grid = shape.size.div_ceil(16);
    for conv in [
        StridedConv {
            name: "stem 7x7",
            input: 3,
            output: base,
            kernel: 7,
            padding: 3,
            grid: shape.size,
        },
        StridedConv {
            name: "layer4.0.conv1 3x3",
            input: 4 * base,
            output: 8 * base,
            kernel: 3,
            padding: 1,
            grid,
        },
        StridedConv {
            name: "layer4.0.downsample 1x1",
            input: 4 * base,
            output: 8 * base,
            kernel: 1,
            padding: 0,
            grid,
        },
    ] {
        let (cpu_weight, cpu_input) =
            strided_conv_gradient_errors::<Cpu>(conv, shape.batch, &cpu_device);
        let (gpu_weight, gpu_input) =
            strided_conv_gradient_errors::<Gpu>(conv, shape.batch, &gpu_device);
        println!(
            "{} stride 2 on {g}x{g}, gradients against an f64 host reference, largest difference \
             (weight, input): flex {cpu_weight:.2e}, {cpu_input:.2e}; wgpu {gpu_weight:.2e}, {gpu_input:.2e}",
            conv.name,
            g = conv.grid
        );
    }
    let (lr, spd_weight) = (learning_rate(shape), config.spd_weight);
    let cpu = two_steps(cpu_model, &host, &cpu_device, spd_weight, lr);
    let gpu = two_steps(gpu_model, &host, &gpu_device, spd_weight, lr);
    let mut largest = 0.0;
    for (step, (c, g)) in cpu.iter().zip(&gpu).enumerate() {
        let spd = |l: &StepLosses| l.spd.expect("SPD is on");
        let difference = [
            (c.method - g.method).abs(),
            (spd(c) - spd(g)).abs(),
            (c.total - g.total).abs(),
        ]
        .into_iter()
        // NaN wins, so a broken backend cannot pass.
        .fold(0.0f64, |a, b| if b.is_nan() || b > a { b } else { a });
        println!(
            "step {}: flex method {:.7} spd {:.7} total {:.7} | wgpu method {:.7} spd {:.7} total {:.7} | largest difference {difference:.2e}",
            step + 1,
            c.method,
            spd(c),
            c.total,
            g.method,
            spd(g),
            g.total,
        );
        if difference.is_nan() || difference > args.tolerance {
            anyhow::bail!(
                "flex and wgpu disagree on step {}'s losses by {difference:.2e} (tolerance {:.0e})",
                step + 1,
                args.tolerance
            );
        }
        largest = f64::max(largest, difference);
    }
    println!(
        "both steps agree to {largest:.2e} (tolerance {:.0e})",
        args.tolerance
    );
    Ok(())
}

/// The losses of two steps from `model` on `host`: the first checks the
/// forward pass, the second the backward pass and the update too.
#[cfg(feature = "wgpu")]
fn two_steps<B: AutodiffBackend>(
    mut model: SimSiam<B>,
    host: &HostBatch,
    device: &B::Device,
    spd_weight: f64,
    lr: f64,
) -> Vec<StepLosses> {
    let mut optimizer = sgd().init::<B, SimSiam<B>>();
    let batch = host.to_device::<B>(device);
    let mut losses = Vec::with_capacity(2);
    for _ in 0..2 {
        let (next, step) = train_step(model, &mut optimizer, &batch, spd_weight, lr);
        model = next;
        losses.push(step);
    }
    losses
}

/// Where a disagreement starts: the loaded stem weights, the stem convolution, each stage, the
/// projection and the prediction of the first view.
#[cfg(feature = "wgpu")]
fn forward_taps<B: AutodiffBackend>(
    model: &SimSiam<B>,
    host: &HostBatch,
    device: &B::Device,
) -> Vec<(&'static str, Vec<f32>)> {
    let view = host.to_device::<B>(device).views.swap_remove(0);
    let read = |t: burn::tensor::Tensor<B, 4>| -> Vec<f32> {
        t.into_data()
            .to_vec()
            .expect("a float tensor reads back as f32")
    };
    let stem = model.backbone.conv1.forward(view.clone());
    let features = model.backbone.features(view.clone());
    let (z, p) = model.project(view);
    vec![
        ("conv1 weight", read(model.backbone.conv1.weight.val())),
        ("conv1", read(stem)),
        ("layer1", read(features.layer1)),
        ("layer2", read(features.layer2)),
        ("layer3", read(features.layer3)),
        ("layer4", read(features.layer4)),
        ("z", read(z.unsqueeze())),
        ("p", read(p.unsqueeze())),
    ]
}

#[cfg(feature = "wgpu")]
fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(
            0.0,
            |worst, d| if d.is_nan() || d > worst { d } else { worst },
        )
}

/// The first step's gradients of a few parameters from the loss back to the
/// input: the predictor's last layer, the projector's first, each stage's
/// first convolution and the stem.
#[cfg(feature = "wgpu")]
fn gradients<B: AutodiffBackend>(
    model: &SimSiam<B>,
    host: &HostBatch,
    device: &B::Device,
    spd_weight: f64,
) -> Vec<(&'static str, Vec<f32>)> {
    use spotdiff::pretrain::Pretrain;

    let grads = model
        .losses(&host.to_device::<B>(device))
        .total(spd_weight)
        .backward();
    let read = |name, t: burn::tensor::Tensor<B::InnerBackend, 4>| {
        let values = t
            .into_data()
            .to_vec()
            .expect("a float tensor reads back as f32");
        (name, values)
    };
    let linear = |l: &burn::nn::Linear<B>| {
        l.weight
            .grad(&grads)
            .expect("every weight has a gradient")
            .unsqueeze()
    };
    let backbone = &model.backbone;
    let first_conv = |stage: &[spotdiff::model::Block<B>]| {
        let conv = match &stage[0] {
            spotdiff::model::Block::Basic(block) => &block.conv1,
            spotdiff::model::Block::Bottleneck(block) => &block.conv1,
        };
        conv.weight
            .grad(&grads)
            .expect("every weight has a gradient")
    };
    vec![
        read("predictor.1", linear(&model.predictor.linears[1])),
        read("projector.0", linear(&model.projector.linears[0])),
        read("layer4.0.conv1", first_conv(&backbone.layer4)),
        read("layer3.0.conv1", first_conv(&backbone.layer3)),
        read("layer2.0.conv1", first_conv(&backbone.layer2)),
        read("layer1.0.conv1", first_conv(&backbone.layer1)),
        read(
            "conv1",
            backbone
                .conv1
                .weight
                .grad(&grads)
                .expect("every weight has a gradient"),
        ),
    ]
}

/// A stride-2 convolution of the backbone: input channels, output channels,
/// kernel side, padding and the input grid's side.
#[cfg(feature = "wgpu")]
#[derive(Clone, Copy)]
struct StridedConv {
    name: &'static str,
    input: usize,
    output: usize,
    kernel: usize,
    padding: usize,
    grid: usize,
}

/// The weight and input gradients of `sum(conv(x, w) · g)` for a stride-2
/// convolution on `batch` inputs, against their direct sums in f64 over the
/// pairs `x[n, c, 2p + i − pad, 2q + j − pad]`, `w[o, c, i, j]`, `g[n, o, p, q]`.
#[cfg(feature = "wgpu")]
fn strided_conv_gradient_errors<B: AutodiffBackend>(
    conv: StridedConv,
    batch: usize,
    device: &B::Device,
) -> (f64, f64) {
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;
    use burn::tensor::{Tensor, TensorData};

    let StridedConv {
        input: ci,
        output: o,
        kernel: k,
        padding: pad,
        grid: h,
        ..
    } = conv;
    let n = batch;
    let out = (h + 2 * pad - k) / 2 + 1;
    let mut rng = Rng::new(0, 1);
    let mut draw = |count: usize| -> Vec<f32> { (0..count).map(|_| rng.normal()).collect() };
    let (x, w, g) = (
        draw(n * ci * h * h),
        draw(o * ci * k * k),
        draw(n * o * out * out),
    );
    let tensor = |data: &Vec<f32>, dims: [usize; 4]| {
        Tensor::<B, 4>::from_data(TensorData::new(data.clone(), dims), device)
    };
    let weight = tensor(&w, [o, ci, k, k]).require_grad();
    let input = tensor(&x, [n, ci, h, h]).require_grad();
    let y = conv2d(
        input.clone(),
        weight.clone(),
        None,
        ConvOptions::new([2, 2], [pad, pad], [1, 1], 1),
    );
    let grads = (y * tensor(&g, [n, o, out, out])).sum().backward();
    let read = |t: Tensor<B::InnerBackend, 4>| -> Vec<f32> {
        t.into_data()
            .to_vec()
            .expect("a float tensor reads back as f32")
    };
    let got_weight = read(weight.grad(&grads).expect("the weight requires a gradient"));
    let got_input = read(input.grad(&grads).expect("the input requires a gradient"));
    let mut weight_reference = vec![0.0f64; w.len()];
    let mut input_reference = vec![0.0f64; x.len()];
    for b in 0..n {
        for oc in 0..o {
            for p in 0..out {
                for q in 0..out {
                    let gradient = f64::from(g[((b * o + oc) * out + p) * out + q]);
                    for c in 0..ci {
                        for i in 0..k {
                            for j in 0..k {
                                let (row, column) = (2 * p + i, 2 * q + j);
                                if row < pad || column < pad || row - pad >= h || column - pad >= h
                                {
                                    continue;
                                }
                                let xi = ((b * ci + c) * h + row - pad) * h + column - pad;
                                let wi = ((oc * ci + c) * k + i) * k + j;
                                weight_reference[wi] += f64::from(x[xi]) * gradient;
                                input_reference[xi] += f64::from(w[wi]) * gradient;
                            }
                        }
                    }
                }
            }
        }
    }
    let worst = |got: &[f32], reference: &[f64]| {
        got.iter()
            .zip(reference)
            .fold(0.0f64, |m, (a, b)| m.max((f64::from(*a) - b).abs()))
    };
    (
        worst(&got_weight, &weight_reference),
        worst(&got_input, &input_reference),
    )
}
