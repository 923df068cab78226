//! Convolution on f32 NCHW slices: the forward pass as im2col + one matrix
//! product per group of samples, the weight gradient as one product, the
//! input gradient as a product + col2im. Groups of samples run on rayon's
//! pool; small grids are batched so that each product is wide enough for
//! gemm to reach its speed.

use std::cell::RefCell;

use rayon::prelude::*;

use super::matmul::{matmul, MatMut, MatRef};

mod winograd;

/// The one shape a convolution call works on. Only dilation 1 and one group
/// of channels (every convolution a ResNet has); other calls go to burn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeometry {
    pub batch: usize,
    pub in_channels: usize,
    pub height: usize,
    pub width: usize,
    pub out_channels: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Zero rows above and columns left of the input (the far sides'
    /// padding only shows in the output size).
    pub padding_start: [usize; 2],
    pub out_height: usize,
    pub out_width: usize,
}

/// Pixels a product should at least span: below this gemm's packing costs
/// more than the arithmetic, so several samples share one product.
const MIN_PRODUCT_WIDTH: usize = 256;

/// Parts a convolution's weight gradient is summed in, whatever the number
/// of threads (see [`conv_backward`]).
const WEIGHT_GRADIENT_PARTS: usize = 4;

impl ConvGeometry {
    /// `None` when the padded input is smaller than the kernel.
    pub(crate) fn new(
        [batch, in_channels, height, width]: [usize; 4],
        out_channels: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [[usize; 2]; 2],
    ) -> Option<Self> {
        let out = |size: usize, axis: usize| {
            let padded = size + padding[axis][0] + padding[axis][1];
            (padded >= kernel[axis] && stride[axis] > 0)
                .then(|| (padded - kernel[axis]) / stride[axis] + 1)
        };
        Some(ConvGeometry {
            batch,
            in_channels,
            height,
            width,
            out_channels,
            kernel,
            stride,
            padding_start: [padding[0][0], padding[1][0]],
            out_height: out(height, 0)?,
            out_width: out(width, 1)?,
        })
    }

    /// Rows of the im2col matrix: one per input channel and kernel tap.
    fn patch_len(&self) -> usize {
        self.in_channels * self.kernel[0] * self.kernel[1]
    }

    fn in_plane(&self) -> usize {
        self.height * self.width
    }

    fn out_plane(&self) -> usize {
        self.out_height * self.out_width
    }

    pub(crate) fn input_len(&self) -> usize {
        self.batch * self.in_channels * self.in_plane()
    }

    pub(crate) fn output_len(&self) -> usize {
        self.batch * self.out_channels * self.out_plane()
    }

    pub(crate) fn weight_len(&self) -> usize {
        self.out_channels * self.patch_len()
    }

    /// A 1×1, stride-1, unpadded convolution: a sample is its own im2col matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1]
            && self.stride == [1, 1]
            && [self.out_height, self.out_width] == [self.height, self.width]
    }

    /// Samples per product: enough for a wide product, few enough that every
    /// thread gets a group.
    fn group_size(&self) -> usize {
        let threads = rayon::current_num_threads().max(1);
        let wide = MIN_PRODUCT_WIDTH.div_ceil(self.out_plane().max(1));
        wide.min(self.batch.div_ceil(threads)).max(1)
    }

    /// Output columns `[start, end)` whose tap `tap` along `axis` reads inside the input.
    fn valid_outputs(&self, axis: usize, tap: usize) -> (usize, usize) {
        let (size, outputs) = if axis == 0 {
            (self.height, self.out_height)
        } else {
            (self.width, self.out_width)
        };
        let (stride, pad) = (self.stride[axis], self.padding_start[axis]);
        // Output o reads input o·stride + tap − pad, which must lie in [0, size).
        let start = pad.saturating_sub(tap).div_ceil(stride);
        let end = if size + pad > tap {
            (size + pad - tap).div_ceil(stride).min(outputs)
        } else {
            0
        };
        (start.min(end), end)
    }
}

/// Buffers a thread reuses across groups and calls; every user overwrites
/// the part it takes, so they are only zeroed when they grow.
#[derive(Default)]
struct Scratch {
    columns: Vec<f32>,
    products: Vec<f32>,
    gathered: Vec<f32>,
    phased: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// Runs `work` with this thread's scratch, or with fresh buffers when a
/// nested rayon job on this thread already holds it.
fn with_scratch<R>(work: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => work(&mut scratch),
        Err(_) => work(&mut Scratch::default()),
    })
}

/// The first `len` values of `buffer`, which keeps its old contents.
fn resized(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}

/// At stride 1 with an output as wide as the input, one tap's values for
/// a whole plane are the input shifted by one offset: the flat output index
/// `o` reads `o + offset`. `None` otherwise.
fn plane_offset(g: &ConvGeometry, tap_y: usize, tap_x: usize) -> Option<isize> {
    (g.stride == [1, 1] && g.out_width == g.width).then(|| {
        (tap_y as isize - g.padding_start[0] as isize) * g.width as isize + tap_x as isize
            - g.padding_start[1] as isize
    })
}

/// The flat output range `[start, end)` of rows `rows` whose shifted reads
/// stay inside a plane of `plane` values, and where the reads start; `None`
/// when no read does (a tap that only ever sees padding).
fn shifted_run(
    rows: (usize, usize),
    width: usize,
    offset: isize,
    plane: usize,
) -> Option<(usize, usize, usize)> {
    let start = ((rows.0 * width) as isize).max(-offset);
    let end = ((rows.1 * width) as isize).min(plane as isize - offset);
    (start < end).then(|| (start as usize, end as usize, (start + offset) as usize))
}

/// One kernel tap of one input channel: a row of the im2col matrix.
struct Tap {
    /// The row's index: `(channel · kernel_h + y) · kernel_w + x`.
    row: usize,
    channel: usize,
    y: usize,
    x: usize,
    /// Output rows `[start, end)` and columns whose reads fall inside the input.
    valid_rows: (usize, usize),
    valid_columns: (usize, usize),
}

fn taps(g: &ConvGeometry) -> impl Iterator<Item = Tap> + '_ {
    let [kernel_h, kernel_w] = g.kernel;
    (0..g.in_channels * kernel_h * kernel_w).map(move |row| {
        let (y, x) = (row / kernel_w % kernel_h, row % kernel_w);
        Tap {
            row,
            channel: row / (kernel_h * kernel_w),
            y,
            x,
            valid_rows: g.valid_outputs(0, y),
            valid_columns: g.valid_outputs(1, x),
        }
    })
}

/// Zeroes the columns outside `[start, end)` of a plane `width` wide: a
/// strided store per border column (a 3×3 tap has at most one).
fn zero_border_columns(plane: &mut [f32], width: usize, (start, end): (usize, usize)) {
    for column in (0..start).chain(end..width) {
        for value in plane[column..].iter_mut().step_by(width) {
            *value = 0.0;
        }
    }
}

/// im2col of `samples` consecutive samples: `columns` is
/// `[patch_len, samples · out_plane]`, column `j · out_plane + oy · out_width + ox`.
fn im2col(
    geometry: &ConvGeometry,
    input: &[f32],
    samples: usize,
    columns: &mut [f32],
    phased: &mut Vec<f32>,
) {
    let g = geometry;
    let (plane, out_plane, width) = (g.in_plane(), g.out_plane(), samples * g.out_plane());
    let phases = Phases::new(g);
    let phased = resized(phased, phases.len(samples * g.in_channels * g.height));
    if g.stride[1] > 1 {
        phases.split(input, phased);
    }
    for tap in taps(g) {
        let ((y_start, y_end), (x_start, x_end)) = (tap.valid_rows, tap.valid_columns);
        let (channel, tap_y, tap_x) = (tap.channel, tap.y, tap.x);
        let row = &mut columns[tap.row * width..(tap.row + 1) * width];
        for sample in 0..samples {
            let source = &input[(sample * g.in_channels + channel) * plane..][..plane];
            let target = &mut row[sample * out_plane..(sample + 1) * out_plane];
            if let Some(offset) = plane_offset(g, tap_y, tap_x) {
                let Some((start, end, from)) =
                    shifted_run((y_start, y_end), g.out_width, offset, plane)
                else {
                    target.fill(0.0);
                    continue;
                };
                target[start..end].copy_from_slice(&source[from..from + end - start]);
                target[..start].fill(0.0);
                target[end..].fill(0.0);
                // Wrapped reads from the neighbouring row.
                zero_border_columns(target, g.out_width, (x_start, x_end));
                continue;
            }
            for (oy, line) in target.chunks_exact_mut(g.out_width).enumerate() {
                if oy < y_start || oy >= y_end {
                    line.fill(0.0);
                    continue;
                }
                let iy = oy * g.stride[0] + tap_y - g.padding_start[0];
                line[..x_start].fill(0.0);
                line[x_end..].fill(0.0);
                let first = x_start * g.stride[1] + tap_x - g.padding_start[1];
                let run = if g.stride[1] == 1 {
                    &source[iy * g.width + first..]
                } else {
                    let row = (sample * g.in_channels + channel) * g.height + iy;
                    phases.run(phased, row, first)
                };
                line[x_start..x_end].copy_from_slice(&run[..x_end - x_start]);
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds each column entry back onto the input
/// pixel it was read from. `input` must start zeroed; `columns` is
/// clobbered (entries that read padding are zeroed).
fn col2im(
    geometry: &ConvGeometry,
    columns: &mut [f32],
    samples: usize,
    input: &mut [f32],
    phased: &mut Vec<f32>,
) {
    let g = geometry;
    let (plane, out_plane, width) = (g.in_plane(), g.out_plane(), samples * g.out_plane());
    let phases = Phases::new(g);
    let phased = resized(phased, phases.len(samples * g.in_channels * g.height));
    if g.stride[1] > 1 {
        phased.fill(0.0);
    }
    for tap in taps(g) {
        let ((y_start, y_end), (x_start, x_end)) = (tap.valid_rows, tap.valid_columns);
        let (channel, tap_y, tap_x) = (tap.channel, tap.y, tap.x);
        let row = &mut columns[tap.row * width..(tap.row + 1) * width];
        for sample in 0..samples {
            let target = &mut input[(sample * g.in_channels + channel) * plane..][..plane];
            let source = &mut row[sample * out_plane..(sample + 1) * out_plane];
            if let Some(offset) = plane_offset(g, tap_y, tap_x) {
                // Entries that read padding would land on the
                // neighbouring row: zero them, then add in one pass.
                zero_border_columns(source, g.out_width, (x_start, x_end));
                let Some((start, end, from)) =
                    shifted_run((y_start, y_end), g.out_width, offset, plane)
                else {
                    continue;
                };
                for (pixel, value) in target[from..from + end - start]
                    .iter_mut()
                    .zip(&source[start..end])
                {
                    *pixel += value;
                }
                continue;
            }
            for oy in y_start..y_end {
                let iy = oy * g.stride[0] + tap_y - g.padding_start[0];
                let line = &source[oy * g.out_width + x_start..oy * g.out_width + x_end];
                let first = x_start * g.stride[1] + tap_x - g.padding_start[1];
                let run = if g.stride[1] == 1 {
                    &mut target[iy * g.width + first..]
                } else {
                    let row = (sample * g.in_channels + channel) * g.height + iy;
                    phases.run_mut(phased, row, first)
                };
                for (pixel, value) in run.iter_mut().zip(line) {
                    *pixel += value;
                }
            }
        }
    }
    if g.stride[1] > 1 {
        phases.merge(phased, input);
    }
}

/// Input rows rearranged by column phase for a horizontal stride `s`: row
/// `r` becomes `s` runs of `ceil(width / s)` values, run `q` holding columns
/// `q, q + s, q + 2s, …`, so a strided tap reads (or adds into) one
/// contiguous run instead of every `s`-th value.
#[derive(Clone, Copy)]
struct Phases {
    width: usize,
    stride: usize,
    run_len: usize,
}

impl Phases {
    fn new(g: &ConvGeometry) -> Self {
        Phases {
            width: g.width,
            stride: g.stride[1],
            run_len: g.width.div_ceil(g.stride[1]),
        }
    }

    /// Values for `rows` rows (none at stride 1, which reads rows directly).
    fn len(&self, rows: usize) -> usize {
        if self.stride > 1 {
            rows * self.stride * self.run_len
        } else {
            0
        }
    }

    fn split(&self, input: &[f32], phased: &mut [f32]) {
        let rows = input.chunks_exact(self.width);
        for (row, runs) in rows.zip(phased.chunks_exact_mut(self.stride * self.run_len)) {
            for (phase, run) in runs.chunks_exact_mut(self.run_len).enumerate() {
                for (slot, value) in run.iter_mut().zip(row[phase..].iter().step_by(self.stride)) {
                    *slot = *value;
                }
            }
        }
    }

    /// Adds the phased rows back onto `input` (the adjoint of [`Phases::split`]).
    fn merge(&self, phased: &[f32], input: &mut [f32]) {
        let rows = input.chunks_exact_mut(self.width);
        for (row, runs) in rows.zip(phased.chunks_exact(self.stride * self.run_len)) {
            for (phase, run) in runs.chunks_exact(self.run_len).enumerate() {
                for (pixel, value) in row[phase..].iter_mut().step_by(self.stride).zip(run) {
                    *pixel += value;
                }
            }
        }
    }

    /// Row `row`'s values from input column `first` on, every `stride`-th.
    fn run<'a>(&self, phased: &'a [f32], row: usize, first: usize) -> &'a [f32] {
        &phased[self.offset(row, first)..]
    }

    fn run_mut<'a>(&self, phased: &'a mut [f32], row: usize, first: usize) -> &'a mut [f32] {
        &mut phased[self.offset(row, first)..]
    }

    fn offset(&self, row: usize, first: usize) -> usize {
        let (phase, index) = (first % self.stride, first / self.stride);
        (row * self.stride + phase) * self.run_len + index
    }
}

/// `[rows, columns, plane]` → `[columns, rows, plane]`: between a group's
/// samples-first layout (tensors) and channels-first one (the products).
fn swap_leading_axes(
    source: &[f32],
    rows: usize,
    columns: usize,
    plane: usize,
    target: &mut [f32],
) {
    for row in 0..rows {
        for column in 0..columns {
            let from = (row * columns + column) * plane;
            let to = (column * rows + row) * plane;
            target[to..to + plane].copy_from_slice(&source[from..from + plane]);
        }
    }
}

/// The convolution of `input` `[batch, in, h, w]` with `weight`
/// `[out, in, kh, kw]`, plus `bias` `[out]` when given: `[batch, out, oh, ow]`.
/// 3×3 stride-1 convolutions with enough channels go by Winograd's
/// F(2×2, 3×3) ([`winograd`]), the rest by im2col.
pub(crate) fn conv_forward(
    geometry: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    if winograd::applies(geometry) {
        return winograd::forward(geometry, input, weight, bias);
    }
    let g = *geometry;
    let mut output = vec![0.0; g.output_len()];
    let group = g.group_size();
    let groups = g.batch.div_ceil(group);
    let weight = MatRef::row_major(weight, g.out_channels, g.patch_len());
    output
        .par_chunks_mut(group * g.out_channels * g.out_plane())
        .zip(input.par_chunks(group * g.in_channels * g.in_plane()))
        .for_each(|(output, input)| {
            with_scratch(|scratch| {
                let samples = output.len() / (g.out_channels * g.out_plane());
                let width = samples * g.out_plane();
                let columns = if samples == 1 && g.is_pointwise() {
                    MatRef::row_major(input, g.in_channels, width)
                } else {
                    let columns = resized(&mut scratch.columns, g.patch_len() * width);
                    im2col(&g, input, samples, columns, &mut scratch.phased);
                    MatRef::row_major(columns, g.patch_len(), width)
                };
                let parallel = groups < rayon::current_num_threads();
                if samples == 1 {
                    let output = MatMut::row_major(output, g.out_channels, width);
                    matmul(output, weight, columns, false, parallel);
                } else {
                    let product = resized(&mut scratch.products, g.out_channels * width);
                    let product_view = MatMut::row_major(product, g.out_channels, width);
                    matmul(product_view, weight, columns, false, parallel);
                    swap_leading_axes(product, g.out_channels, samples, g.out_plane(), output);
                }
            })
        });
    if let Some(bias) = bias {
        output
            .par_chunks_mut(g.out_plane().max(1))
            .enumerate()
            .for_each(|(index, plane)| {
                let value = bias[index % g.out_channels];
                plane.iter_mut().for_each(|x| *x += value);
            });
    }
    output
}

/// Gradients of [`conv_forward`].
pub(crate) struct ConvGradients {
    /// `None` when not asked for.
    pub input: Option<Vec<f32>>,
    pub weight: Vec<f32>,
}

/// The input gradient (when `need_input`) and the weight gradient of a
/// convolution without bias, from the output gradient.
pub(crate) fn conv_backward(
    geometry: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    grad_output: &[f32],
    need_input: bool,
) -> ConvGradients {
    let g = *geometry;
    let group = g.group_size();
    let groups = g.batch.div_ceil(group);
    let parallel = groups < rayon::current_num_threads();
    let weight_view = MatRef::row_major(weight, g.out_channels, g.patch_len());
    let mut grad_input = need_input.then(|| vec![0.0; g.input_len()]);
    let input_chunk = group * g.in_channels * g.in_plane();
    let output_chunk = group * g.out_channels * g.out_plane();
    let grad_input_chunks: Vec<Option<&mut [f32]>> = match grad_input.as_mut() {
        Some(values) => values.chunks_mut(input_chunk).map(Some).collect(),
        None => (0..groups).map(|_| None).collect(),
    };
    // One group's share: its weight gradient added onto `grad_weight`, its
    // input gradient written.
    let group_gradients = |grad_weight: &mut [f32],
                           grad_input: Option<&mut [f32]>,
                           input: &[f32],
                           grad_output: &[f32]| {
        with_scratch(|scratch| {
            let samples = grad_output.len() / (g.out_channels * g.out_plane());
            let width = samples * g.out_plane();
            let grad_output = if samples == 1 {
                MatRef::row_major(grad_output, g.out_channels, width)
            } else {
                let gathered = resized(&mut scratch.gathered, g.out_channels * width);
                swap_leading_axes(
                    grad_output,
                    samples,
                    g.out_channels,
                    g.out_plane(),
                    gathered,
                );
                MatRef::row_major(gathered, g.out_channels, width)
            };
            let pointwise = samples == 1 && g.is_pointwise();
            let columns = if pointwise {
                MatRef::row_major(input, g.in_channels, width)
            } else {
                let columns = resized(&mut scratch.columns, g.patch_len() * width);
                im2col(&g, input, samples, columns, &mut scratch.phased);
                MatRef::row_major(columns, g.patch_len(), width)
            };
            // The weight gradient is accumulated transposed
            // (column-major), so that gemm repacks the small output
            // gradient rather than the im2col matrix.
            matmul(
                MatMut::column_major(grad_weight, g.out_channels, g.patch_len()),
                grad_output,
                columns.transposed(),
                true,
                parallel,
            );
            if let Some(grad_input) = grad_input {
                if pointwise {
                    matmul(
                        MatMut::row_major(grad_input, g.in_channels, width),
                        weight_view.transposed(),
                        grad_output,
                        false,
                        parallel,
                    );
                } else {
                    let grad_columns = resized(&mut scratch.products, g.patch_len() * width);
                    matmul(
                        MatMut::row_major(grad_columns, g.patch_len(), width),
                        weight_view.transposed(),
                        grad_output,
                        false,
                        parallel,
                    );
                    col2im(&g, grad_columns, samples, grad_input, &mut scratch.phased);
                }
            }
        })
    };
    // Each part adds up its groups in order and the parts are added in
    // order: a fixed split, not rayon's, whose work stealing regroups a
    // fold's partial sums from run to run, so that the gradient, and with
    // it a training run, comes out the same every time.
    let mut work: Vec<_> = grad_input_chunks
        .into_iter()
        .zip(input.chunks(input_chunk))
        .zip(grad_output.chunks(output_chunk))
        .collect();
    let per_part = work.len().div_ceil(WEIGHT_GRADIENT_PARTS).max(1);
    let parts: Vec<Vec<f32>> = work
        .par_chunks_mut(per_part)
        .map(|part| {
            let mut grad_weight = vec![0.0; g.weight_len()];
            for ((grad_input, input), grad_output) in part.iter_mut() {
                group_gradients(&mut grad_weight, grad_input.take(), input, grad_output);
            }
            grad_weight
        })
        .collect();
    let mut grad_weight = vec![0.0; g.weight_len()];
    for part in &parts {
        grad_weight.iter_mut().zip(part).for_each(|(t, p)| *t += p);
    }
    // Back from [patch_len, out_channels] to the weight's layout.
    let mut weight = vec![0.0; g.weight_len()];
    for (patch, row) in grad_weight.chunks_exact(g.out_channels).enumerate() {
        for (channel, value) in row.iter().enumerate() {
            weight[channel * g.patch_len() + patch] = *value;
        }
    }
    ConvGradients {
        input: grad_input,
        weight,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct definition of the convolution, the reference for im2col + gemm.
    fn direct(geometry: &ConvGeometry, input: &[f32], weight: &[f32]) -> Vec<f32> {
        let g = geometry;
        let mut output = vec![0.0; g.output_len()];
        for n in 0..g.batch {
            for o in 0..g.out_channels {
                for oy in 0..g.out_height {
                    for ox in 0..g.out_width {
                        let mut sum = 0.0f64;
                        for c in 0..g.in_channels {
                            for ky in 0..g.kernel[0] {
                                for kx in 0..g.kernel[1] {
                                    let iy = (oy * g.stride[0] + ky) as isize
                                        - g.padding_start[0] as isize;
                                    let ix = (ox * g.stride[1] + kx) as isize
                                        - g.padding_start[1] as isize;
                                    if iy < 0
                                        || ix < 0
                                        || iy >= g.height as isize
                                        || ix >= g.width as isize
                                    {
                                        continue;
                                    }
                                    let x = input[((n * g.in_channels + c) * g.height
                                        + iy as usize)
                                        * g.width
                                        + ix as usize];
                                    let w = weight[((o * g.in_channels + c) * g.kernel[0] + ky)
                                        * g.kernel[1]
                                        + kx];
                                    sum += f64::from(x) * f64::from(w);
                                }
                            }
                        }
                        output[((n * g.out_channels + o) * g.out_height + oy) * g.out_width + ox] =
                            sum as f32;
                    }
                }
            }
        }
        output
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn forward_equals_the_direct_sum_for_strides_paddings_and_grouped_samples() {
        for (dims, out, kernel, stride, padding) in [
            ([3, 5, 7, 6], 4, [3, 3], [1, 1], [[1, 1], [1, 1]]),
            ([2, 3, 9, 9], 6, [7, 7], [2, 2], [[3, 3], [3, 3]]),
            ([5, 4, 3, 2], 3, [1, 1], [1, 1], [[0, 0], [0, 0]]),
            ([1, 2, 6, 5], 2, [3, 2], [2, 1], [[0, 2], [1, 0]]),
            ([2, 3, 6, 5], 2, [3, 2], [1, 1], [[0, 2], [1, 0]]),
            ([3, 5, 1, 1], 6, [3, 3], [1, 1], [[1, 1], [1, 1]]),
            // 1×1 with padding on the far sides only: not its own im2col.
            ([2, 3, 4, 3], 2, [1, 1], [1, 1], [[0, 1], [0, 2]]),
        ] {
            let g = ConvGeometry::new(dims, out, kernel, stride, padding).unwrap();
            let input = values(g.input_len(), 1);
            let weight = values(g.weight_len(), 2);
            let got = conv_forward(&g, &input, &weight, None);
            let want = direct(&g, &input, &weight);
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{g:?}: {a} vs {b}");
            }
        }
    }

    /// Rayon's work stealing must not reach the numbers: many groups, both
    /// threads, the same weight gradient to the bit every time.
    #[test]
    fn the_weight_gradient_is_the_same_on_every_run() {
        let g = ConvGeometry::new([32, 16, 16, 16], 16, [3, 3], [1, 1], [[1, 1], [1, 1]]).unwrap();
        let input = values(g.input_len(), 3);
        let weight = values(g.weight_len(), 4);
        let grad_output = values(g.output_len(), 5);
        let first = conv_backward(&g, &input, &weight, &grad_output, true);
        for run in 0..20 {
            let again = conv_backward(&g, &input, &weight, &grad_output, true);
            assert!(
                again.weight == first.weight,
                "run {run}: another weight gradient"
            );
            assert!(
                again.input == first.input,
                "run {run}: another input gradient"
            );
        }
    }
}
