//! 2-D max pooling on f32 NCHW slices. flex 0.21 pools through its 3-D
//! kernel with indices, element by element with bounds checks at every
//! tap, whether or not the indices are wanted: a tenth of the pre-training
//! step and of PaDiM's forward pass (docs/BENCHMARKS.md). Here inference
//! takes the maximum separably (rows, then columns, both contiguous), and
//! training keeps, per output, the index of the input it came from, chosen
//! as burn and PyTorch choose it: the first largest value in row-major
//! window order, so the gradients land where theirs do.

use rayon::prelude::*;

/// A max pooling's shapes: input `[batch, channels, height, width]`,
/// symmetric padding whose taps never win (−∞, not zero), dilation 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolGeometry {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub out_height: usize,
    pub out_width: usize,
}

impl PoolGeometry {
    /// `None` where a window could hold only padding (padding of more than
    /// half the kernel, which PyTorch refuses too) or nothing fits.
    pub fn new(
        [batch, channels, height, width]: [usize; 4],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Option<Self> {
        let out = |size: usize, k: usize, s: usize, p: usize| {
            let fits = k > 0 && s > 0 && 2 * p <= k && size + 2 * p >= k;
            fits.then(|| (size + 2 * p - k) / s + 1)
        };
        Some(Self {
            batch,
            channels,
            height,
            width,
            kernel,
            stride,
            padding,
            out_height: out(height, kernel[0], stride[0], padding[0])?,
            out_width: out(width, kernel[1], stride[1], padding[1])?,
        })
    }

    fn in_plane(&self) -> usize {
        self.height * self.width
    }

    fn out_plane(&self) -> usize {
        self.out_height * self.out_width
    }

    pub fn output_len(&self) -> usize {
        self.batch * self.channels * self.out_plane()
    }

    pub fn input_dims(&self) -> [usize; 4] {
        [self.batch, self.channels, self.height, self.width]
    }

    pub fn output_dims(&self) -> [usize; 4] {
        [self.batch, self.channels, self.out_height, self.out_width]
    }

    /// The input rows (or columns) under output row (column) `out` on an
    /// axis: `[start, end)`, clipped to the input.
    fn window(
        out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        size: usize,
    ) -> (usize, usize) {
        let start = (out * stride).saturating_sub(padding);
        let end = (out * stride + kernel - padding).min(size);
        (start, end)
    }

    fn rows(&self, out_row: usize) -> (usize, usize) {
        Self::window(
            out_row,
            self.kernel[0],
            self.stride[0],
            self.padding[0],
            self.height,
        )
    }

    fn columns(&self, out_column: usize) -> (usize, usize) {
        Self::window(
            out_column,
            self.kernel[1],
            self.stride[1],
            self.padding[1],
            self.width,
        )
    }
}

/// Planes per parallel task: enough work to be worth a hand-off.
fn planes_per_task(g: &PoolGeometry) -> usize {
    (16_384 / g.in_plane().max(1)).max(1)
}

/// The pooled values (inference: no indices).
pub(crate) fn max_pool_forward(g: &PoolGeometry, input: &[f32]) -> Vec<f32> {
    let mut output = vec![0.0; g.output_len()];
    let per_task = planes_per_task(g);
    output
        .par_chunks_mut(per_task * g.out_plane())
        .zip(input.par_chunks(per_task * g.in_plane()))
        .for_each(|(output, input)| {
            let mut row_maxima = vec![0.0f32; g.height * g.out_width];
            for (output, input) in output
                .chunks_exact_mut(g.out_plane())
                .zip(input.chunks_exact(g.in_plane()))
            {
                for (maxima, row) in row_maxima
                    .chunks_exact_mut(g.out_width)
                    .zip(input.chunks_exact(g.width))
                {
                    for (ow, maximum) in maxima.iter_mut().enumerate() {
                        let (start, end) = g.columns(ow);
                        *maximum = row[start..end]
                            .iter()
                            .copied()
                            .fold(f32::NEG_INFINITY, f32::max);
                    }
                }
                for (oh, output_row) in output.chunks_exact_mut(g.out_width).enumerate() {
                    let (start, end) = g.rows(oh);
                    output_row.copy_from_slice(&row_maxima[start * g.out_width..][..g.out_width]);
                    for maxima in row_maxima[(start + 1) * g.out_width..end * g.out_width]
                        .chunks_exact(g.out_width)
                    {
                        output_row
                            .iter_mut()
                            .zip(maxima)
                            .for_each(|(o, &m)| *o = o.max(m));
                    }
                }
            }
        });
    output
}

/// The pooled values and, per output, the index within its input plane of
/// the value it took (training).
pub(crate) fn max_pool_forward_with_indices(
    g: &PoolGeometry,
    input: &[f32],
) -> (Vec<f32>, Vec<u32>) {
    let mut output = vec![0.0; g.output_len()];
    let mut indices = vec![0u32; g.output_len()];
    let per_task = planes_per_task(g);
    output
        .par_chunks_mut(per_task * g.out_plane())
        .zip(indices.par_chunks_mut(per_task * g.out_plane()))
        .zip(input.par_chunks(per_task * g.in_plane()))
        .for_each(|((output, indices), input)| {
            for ((output, indices), input) in output
                .chunks_exact_mut(g.out_plane())
                .zip(indices.chunks_exact_mut(g.out_plane()))
                .zip(input.chunks_exact(g.in_plane()))
            {
                for oh in 0..g.out_height {
                    let (row_start, row_end) = g.rows(oh);
                    for ow in 0..g.out_width {
                        let (column_start, column_end) = g.columns(ow);
                        let mut best = row_start * g.width + column_start;
                        let mut maximum = input[best];
                        for ih in row_start..row_end {
                            let row = &input[ih * g.width..][..g.width];
                            for (iw, &value) in
                                row.iter().enumerate().take(column_end).skip(column_start)
                            {
                                if value > maximum {
                                    maximum = value;
                                    best = ih * g.width + iw;
                                }
                            }
                        }
                        output[oh * g.out_width + ow] = maximum;
                        // A plane of more than 2^32 values cannot be allocated
                        // beside its batch; the caller checks the plane's size.
                        indices[oh * g.out_width + ow] = best as u32;
                    }
                }
            }
        });
    (output, indices)
}

/// The input gradient: each output's gradient added at the input it took.
pub(crate) fn max_pool_backward(
    g: &PoolGeometry,
    indices: &[u32],
    grad_output: &[f32],
) -> Vec<f32> {
    let mut grad_input = vec![0.0; g.batch * g.channels * g.in_plane()];
    let per_task = planes_per_task(g);
    grad_input
        .par_chunks_mut(per_task * g.in_plane())
        .zip(indices.par_chunks(per_task * g.out_plane()))
        .zip(grad_output.par_chunks(per_task * g.out_plane()))
        .for_each(|((grad_input, indices), grad_output)| {
            for ((grad_input, indices), grad_output) in grad_input
                .chunks_exact_mut(g.in_plane())
                .zip(indices.chunks_exact(g.out_plane()))
                .zip(grad_output.chunks_exact(g.out_plane()))
            {
                for (&index, &grad) in indices.iter().zip(grad_output) {
                    grad_input[index as usize] += grad;
                }
            }
        });
    grad_input
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-worked: a 4×4 plane, 3×3 windows, stride 2, padding 1.
    #[test]
    fn a_padded_strided_window_by_hand() {
        #[rustfmt::skip]
        let input = [
            1.0, 5.0, 2.0, 0.0,
            3.0, 4.0, 9.0, 1.0,
            8.0, 0.0, 7.0, 6.0,
            2.0, 2.0, 3.0, 9.0,
        ];
        let g = PoolGeometry::new([1, 1, 4, 4], [3, 3], [2, 2], [1, 1]).unwrap();
        assert_eq!((g.out_height, g.out_width), (2, 2));
        // Windows: rows 0–1 × columns 0–1, rows 0–1 × 1–3, rows 1–3 × 0–1, rows 1–3 × 1–3.
        assert_eq!(max_pool_forward(&g, &input), vec![5.0, 9.0, 8.0, 9.0]);
        let (values, indices) = max_pool_forward_with_indices(&g, &input);
        assert_eq!(values, vec![5.0, 9.0, 8.0, 9.0]);
        // The second and fourth windows both hold 9 at (1, 2); the fourth
        // also holds 9 at (3, 3) and takes the first in row-major order.
        assert_eq!(indices, vec![1, 6, 8, 6]);
        let grad = max_pool_backward(&g, &indices, &[1.0, 2.0, 3.0, 4.0]);
        let mut want = vec![0.0; 16];
        want[1] = 1.0;
        want[6] = 2.0 + 4.0;
        want[8] = 3.0;
        assert_eq!(grad, want);
    }

    #[test]
    fn windows_of_only_padding_are_refused() {
        assert!(PoolGeometry::new([1, 1, 4, 4], [3, 3], [2, 2], [2, 2]).is_none());
        assert!(PoolGeometry::new([1, 1, 2, 2], [5, 5], [1, 1], [1, 1]).is_none());
    }
}
