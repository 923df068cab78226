//! Batch norm in training on f32 `[batch, channels, plane]` slices: each
//! channel's statistics in two passes over its planes (f64 sums), one scale
//! and shift per channel, and the closed-form backward pass.

use rayon::prelude::*;

/// Elements a rayon task should at least cover, so that tiny planes (the
/// heads' `[batch, features]`, 2×2 grids) do not become one task each.
const MIN_TASK_ELEMENTS: usize = 4096;

/// `[batch, channels, plane]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NormShape {
    pub batch: usize,
    pub channels: usize,
    pub plane: usize,
}

impl NormShape {
    /// Values each channel's statistics are taken over.
    pub(crate) fn count(&self) -> usize {
        self.batch * self.plane
    }

    fn len(&self) -> usize {
        self.batch * self.channels * self.plane
    }

    fn planes_per_task(&self) -> usize {
        MIN_TASK_ELEMENTS.div_ceil(self.plane.max(1))
    }

    /// Channel `channel`'s planes, one per sample.
    fn planes<'a>(&self, values: &'a [f32], channel: usize) -> impl Iterator<Item = &'a [f32]> {
        let (channels, plane) = (self.channels, self.plane);
        (0..self.batch).map(move |n| &values[(n * channels + channel) * plane..][..plane])
    }
}

/// Independent partial sums: one running f64 sum is bound by the add's
/// latency, eight of them vectorise.
const LANES: usize = 8;

/// `Σ f(x)` over `values` in f64, in [`LANES`] partial sums.
fn lane_sum(values: &[f32], f: impl Fn(f32) -> f64) -> f64 {
    let mut partial = [0.0f64; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail: f64 = chunks.remainder().iter().map(|&x| f(x)).sum();
    for chunk in chunks {
        for (sum, &x) in partial.iter_mut().zip(chunk) {
            *sum += f(x);
        }
    }
    partial.iter().sum::<f64>() + tail
}

/// `Σ f(a, b)` over pairs of `a` and `b` in f64, in [`LANES`] partial sums.
fn lane_dot(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f64) -> f64 {
    let mut partial = [0.0f64; LANES];
    let (chunks_a, chunks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(&x, &y)| f(x, y))
        .sum();
    for (chunk_a, chunk_b) in chunks_a.zip(chunks_b) {
        for ((sum, &x), &y) in partial.iter_mut().zip(chunk_a).zip(chunk_b) {
            *sum += f(x, y);
        }
    }
    partial.iter().sum::<f64>() + tail
}

/// One batch's per-channel statistics.
pub(crate) struct ChannelStats {
    pub mean: Vec<f32>,
    /// The biased variance (÷ count), which normalises the batch.
    pub variance: Vec<f32>,
    /// `1 / sqrt(variance + epsilon)`.
    pub inv_std: Vec<f32>,
}

/// What follows the batch norm in the same pass.
#[derive(Clone, Copy)]
pub(crate) enum Epilogue<'a> {
    None,
    Relu,
    /// `relu(batch norm + residual)`: the end of a residual block.
    AddRelu(&'a [f32]),
}

/// Normalises `input` with its own batch statistics, applies `gamma` and
/// `beta`, then the epilogue: the output and the statistics.
pub(crate) fn batch_norm_forward(
    shape: NormShape,
    input: &[f32],
    gamma: &[f32],
    beta: &[f32],
    epsilon: f64,
    epilogue: Epilogue<'_>,
) -> (Vec<f32>, ChannelStats) {
    assert_eq!(input.len(), shape.len(), "batch norm input");
    let count = shape.count().max(1) as f64;
    let (mean, variance): (Vec<f32>, Vec<f32>) = (0..shape.channels)
        .into_par_iter()
        .map(|channel| {
            let sum: f64 = shape
                .planes(input, channel)
                .map(|plane| lane_sum(plane, f64::from))
                .sum();
            let mean = sum / count;
            let squares: f64 = shape
                .planes(input, channel)
                .map(|plane| lane_sum(plane, |x| (f64::from(x) - mean).powi(2)))
                .sum();
            (mean as f32, (squares / count) as f32)
        })
        .unzip();
    let inv_std: Vec<f32> = variance
        .iter()
        .map(|&v| (1.0 / (f64::from(v) + epsilon).sqrt()) as f32)
        .collect();
    let scale: Vec<f32> = gamma.iter().zip(&inv_std).map(|(g, r)| g * r).collect();
    let shift: Vec<f32> = (0..shape.channels)
        .map(|c| beta[c] - mean[c] * scale[c])
        .collect();
    let plane = shape.plane.max(1);
    let mut output = vec![0.0; input.len()];
    let planes = output
        .par_chunks_mut(plane)
        .zip(input.par_chunks(plane))
        .with_min_len(shape.planes_per_task())
        .enumerate();
    let channel_of = |index: usize| index % shape.channels;
    match epilogue {
        Epilogue::None => planes.for_each(|(index, (output, input))| {
            let (scale, shift) = (scale[channel_of(index)], shift[channel_of(index)]);
            for (y, &x) in output.iter_mut().zip(input) {
                *y = x * scale + shift;
            }
        }),
        Epilogue::Relu => planes.for_each(|(index, (output, input))| {
            let (scale, shift) = (scale[channel_of(index)], shift[channel_of(index)]);
            for (y, &x) in output.iter_mut().zip(input) {
                *y = (x * scale + shift).max(0.0);
            }
        }),
        Epilogue::AddRelu(residual) => {
            assert_eq!(residual.len(), input.len(), "batch norm residual");
            planes.zip(residual.par_chunks(plane)).for_each(
                |((index, (output, input)), residual)| {
                    let (scale, shift) = (scale[channel_of(index)], shift[channel_of(index)]);
                    for ((y, &x), &r) in output.iter_mut().zip(input).zip(residual) {
                        *y = (x * scale + shift + r).max(0.0);
                    }
                },
            )
        }
    }
    let stats = ChannelStats {
        mean,
        variance,
        inv_std,
    };
    (output, stats)
}

/// Gradients of [`batch_norm_forward`] with respect to its input (when
/// `need_input`), `gamma` and `beta`.
pub(crate) struct NormGradients {
    pub input: Option<Vec<f32>>,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

/// What the backward pass reads from the forward pass.
pub(crate) struct Saved<'a> {
    pub input: &'a [f32],
    pub gamma: &'a [f32],
    pub mean: &'a [f32],
    pub inv_std: &'a [f32],
}

/// The gradient through a ReLU: `grad_output` where the ReLU's `output` is
/// positive, zero elsewhere.
pub(crate) fn relu_backward(grad_output: &[f32], output: &[f32]) -> Vec<f32> {
    assert_eq!(grad_output.len(), output.len(), "ReLU output gradient");
    grad_output
        .par_iter()
        .zip(output)
        .with_min_len(MIN_TASK_ELEMENTS)
        .map(|(&dy, &y)| if y > 0.0 { dy } else { 0.0 })
        .collect()
}

/// The closed form: with x̂ = (x − μ)·r, dβ = Σ dy, dγ = Σ dy·x̂ and
/// dx = γ·r·(dy − dβ/M − x̂·dγ/M), sums over each channel's M values.
pub(crate) fn batch_norm_backward(
    shape: NormShape,
    saved: Saved<'_>,
    grad_output: &[f32],
    need_input: bool,
) -> NormGradients {
    let Saved {
        input,
        gamma,
        mean,
        inv_std,
    } = saved;
    assert_eq!(input.len(), shape.len(), "batch norm input");
    assert_eq!(grad_output.len(), shape.len(), "batch norm output gradient");
    let (grad_beta, grad_gamma): (Vec<f32>, Vec<f32>) = (0..shape.channels)
        .into_par_iter()
        .map(|channel| {
            let mu = f64::from(mean[channel]);
            let (mut sum, mut weighted) = (0.0f64, 0.0f64);
            for (x, dy) in shape
                .planes(input, channel)
                .zip(shape.planes(grad_output, channel))
            {
                sum += lane_sum(dy, f64::from);
                weighted += lane_dot(dy, x, |dy, x| f64::from(dy) * (f64::from(x) - mu));
            }
            (sum as f32, (weighted * f64::from(inv_std[channel])) as f32)
        })
        .unzip();
    let grad_input = need_input.then(|| {
        let count = shape.count().max(1) as f32;
        let mut grad_input = vec![0.0; input.len()];
        grad_input
            .par_chunks_mut(shape.plane.max(1))
            .zip(input.par_chunks(shape.plane.max(1)))
            .zip(grad_output.par_chunks(shape.plane.max(1)))
            .with_min_len(shape.planes_per_task())
            .enumerate()
            .for_each(|(index, ((dx, x), dy))| {
                let c = index % shape.channels;
                let r = inv_std[c];
                let scale = gamma[c] * r;
                let mean_dy = grad_beta[c] / count;
                let mean_dy_xhat = grad_gamma[c] / count;
                for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
                    let x_hat = (x - mean[c]) * r;
                    *dx = scale * (dy - mean_dy - x_hat * mean_dy_xhat);
                }
            });
        grad_input
    });
    NormGradients {
        input: grad_input,
        gamma: grad_gamma,
        beta: grad_beta,
    }
}
