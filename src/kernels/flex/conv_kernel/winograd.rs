//! 3×3 stride-1 convolutions by Winograd's minimal filtering F(2×2, 3×3)
//! (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
//! 2016): each 2×2 block of outputs comes from a 4×4 input tile through 16
//! products per channel pair instead of 36. The input tiles and the kernels
//! are transformed into 16 "points"; at each point the channel mixing is one
//! matrix product (`[out, in] · [in, tiles]`); the products transform back
//! to outputs. These convolutions are four fifths of a ResNet's arithmetic,
//! so they do 2.25 times less of it. The transforms hold only halves,
//! sums and differences: the result differs from the direct sum by f32
//! rounding (tested at 1e-5 of the output's scale).

use rayon::prelude::*;

use super::{matmul, resized, with_scratch, ConvGeometry, MatMut, MatRef, MIN_PRODUCT_WIDTH};

/// Transform points per tile (a 4×4 tile).
const POINTS: usize = 16;

/// Where the transforms pay: measured per ResNet-18 shape against im2col
/// (docs/BENCHMARKS.md), 1.2–1.7 times faster with 64 channels or more on
/// planes 7 or more wide, 2 times slower on the pre-training demo's
/// (16–64 channels on 4×4 to 16×16 planes), where a row holds too few
/// tiles for the row-at-a-time transforms and the products are small.
const MIN_CHANNELS: usize = 64;
const MIN_OUTPUT_WIDTH: usize = 7;

/// Whether [`forward`] computes this convolution (it computes any 3×3
/// stride-1 one; this says where it is the faster way).
pub(super) fn applies(g: &ConvGeometry) -> bool {
    g.kernel == [3, 3]
        && g.stride == [1, 1]
        && g.in_channels >= MIN_CHANNELS
        && g.out_channels >= MIN_CHANNELS
        && g.out_width >= MIN_OUTPUT_WIDTH
}

/// Tiles per sample along the height and the width: one per 2×2 outputs.
fn tiles(g: &ConvGeometry) -> (usize, usize) {
    (g.out_height.div_ceil(2), g.out_width.div_ceil(2))
}

/// `U = G g Gᵀ` per kernel, stored point by point: `[16, out, in]`.
fn transform_weights(g: &ConvGeometry, weight: &[f32]) -> Vec<f32> {
    let (outs, ins) = (g.out_channels, g.in_channels);
    let mut transformed = vec![0.0; POINTS * outs * ins];
    // G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]].
    let g_times = |[a, b, c]: [f32; 3]| [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c];
    for (pair, kernel) in weight.chunks_exact(9).enumerate() {
        let columns: [[f32; 4]; 3] =
            std::array::from_fn(|x| g_times([kernel[x], kernel[3 + x], kernel[6 + x]]));
        for (y, row) in (0..4).map(|y| (y, g_times(columns.map(|column| column[y])))) {
            for (x, value) in row.into_iter().enumerate() {
                transformed[(y * 4 + x) * outs * ins + pair] = value;
            }
        }
    }
    transformed
}

/// `V = Bᵀ d B` of every 4×4 input tile `d` of `samples` samples, stored
/// point by point: `[16, in, tiles]`, tile `(sample · rows + ty) · columns + tx`.
///
/// A row of tiles is transformed at once, each step one pass over the
/// row's tiles, so the compiler vectorises it: the tiles of a row start at
/// even columns, so the plane is first split into its even and odd columns
/// (zero-padded), and tile `tx`'s four columns are `even[tx]`, `odd[tx]`,
/// `even[tx + 1]` and `odd[tx + 1]`.
fn transform_input(
    g: &ConvGeometry,
    input: &[f32],
    samples: usize,
    transformed: &mut [f32],
    buffer: &mut Vec<f32>,
) {
    let (rows, columns) = tiles(g);
    let tile_count = samples * rows * columns;
    // The tiles read rows −pad … 2·rows + 1 − pad and as many columns.
    let (height, half_width) = (2 * rows + 2, columns + 1);
    let [pad_top, pad_left] = g.padding_start;
    let buffer = resized(buffer, 2 * height * half_width + 16 * columns);
    let (split, by_rows) = buffer.split_at_mut(2 * height * half_width);
    for (index, plane) in input.chunks_exact(g.in_plane()).enumerate() {
        let (sample, channel) = (index / g.in_channels, index % g.in_channels);
        // Row y of the padded plane: even columns, then odd columns.
        for (y, line) in split.chunks_exact_mut(2 * half_width).enumerate() {
            line.fill(0.0);
            let Some(source) = y
                .checked_sub(pad_top)
                .filter(|&row| row < g.height)
                .map(|row| &plane[row * g.width..][..g.width])
            else {
                continue;
            };
            // Padded column `x + pad_left` holds `source[x]`: every other
            // source value to each half, without a test per value.
            let (even, odd) = line.split_at_mut(half_width);
            for (half, parity) in [(even, 0), (odd, 1)] {
                let first = (parity + 2 - pad_left % 2) % 2;
                let slot = (first + pad_left) / 2;
                let (Some(slots), Some(values)) = (half.get_mut(slot..), source.get(first..))
                else {
                    continue;
                };
                for (slot, &value) in slots.iter_mut().zip(values.iter().step_by(2)) {
                    *slot = value;
                }
            }
        }
        for ty in 0..rows {
            // The tile row's 4 × 4 columns: [row][column], each over tx.
            let column = |r: usize, c: usize| {
                let line = &split[(2 * ty + r) * 2 * half_width..][..2 * half_width];
                let (even, odd) = line.split_at(half_width);
                match c {
                    0 => &even[..columns],
                    1 => &odd[..columns],
                    2 => &even[1..],
                    _ => &odd[1..],
                }
            };
            // Bᵀ down the rows: by_rows[i · 4 + c] = (Bᵀ d)[i][c].
            for c in 0..4 {
                let [d0, d1, d2, d3] = [0, 1, 2, 3].map(|r| column(r, c));
                let mut out = by_rows.chunks_exact_mut(columns).skip(c).step_by(4);
                let mut next = || out.next().expect("four rows of Bᵀ d");
                difference(next(), d0, d2);
                sum(next(), d1, d2);
                difference(next(), d2, d1);
                difference(next(), d1, d3);
            }
            // B along the columns, straight into the points' rows.
            let tile = (sample * rows + ty) * columns;
            for i in 0..4 {
                let t = |c: usize| &by_rows[(i * 4 + c) * columns..][..columns];
                let start = |j: usize| ((i * 4 + j) * g.in_channels + channel) * tile_count + tile;
                difference_at(transformed, start(0), t(0), t(2));
                sum_at(transformed, start(1), t(1), t(2));
                difference_at(transformed, start(2), t(2), t(1));
                difference_at(transformed, start(3), t(1), t(3));
            }
        }
    }
}

fn sum(target: &mut [f32], a: &[f32], b: &[f32]) {
    for ((t, a), b) in target.iter_mut().zip(a).zip(b) {
        *t = a + b;
    }
}

fn difference(target: &mut [f32], a: &[f32], b: &[f32]) {
    for ((t, a), b) in target.iter_mut().zip(a).zip(b) {
        *t = a - b;
    }
}

fn sum_at(target: &mut [f32], start: usize, a: &[f32], b: &[f32]) {
    sum(&mut target[start..start + a.len()], a, b);
}

fn difference_at(target: &mut [f32], start: usize, a: &[f32], b: &[f32]) {
    difference(&mut target[start..start + a.len()], a, b);
}

/// `Y = Aᵀ m A` of every tile's 16 products `m` (`[16, out, tiles]`), plus
/// the bias, into `samples` output samples `[samples, out, oh, ow]`; a row
/// of tiles at once, as [`transform_input`].
fn transform_output(
    g: &ConvGeometry,
    products: &[f32],
    bias: Option<&[f32]>,
    output: &mut [f32],
    buffer: &mut Vec<f32>,
) {
    let (rows, columns) = tiles(g);
    let samples = output.len() / (g.out_channels * g.out_plane());
    let tile_count = samples * rows * columns;
    let by_rows = resized(buffer, 8 * columns);
    for (index, plane) in output.chunks_exact_mut(g.out_plane()).enumerate() {
        let (sample, channel) = (index / g.out_channels, index % g.out_channels);
        let shift = bias.map_or(0.0, |bias| bias[channel]);
        for ty in 0..rows {
            let tile = (sample * rows + ty) * columns;
            let m = |point: usize| {
                &products[(point * g.out_channels + channel) * tile_count + tile..][..columns]
            };
            // Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]] down the rows:
            // by_rows[k · 4 + c] = (Aᵀ m)[k][c].
            for c in 0..4 {
                let [m0, m1, m2, m3] = [0, 1, 2, 3].map(|r| m(r * 4 + c));
                let (first, second) = by_rows.split_at_mut(4 * columns);
                let first = &mut first[c * columns..][..columns];
                let second = &mut second[c * columns..][..columns];
                for (tx, (f, s)) in first.iter_mut().zip(second.iter_mut()).enumerate() {
                    *f = m0[tx] + m1[tx] + m2[tx];
                    *s = m1[tx] - m2[tx] - m3[tx];
                }
            }
            // A along the columns, into output rows 2·ty and 2·ty + 1.
            for k in 0..2 {
                let y = 2 * ty + k;
                if y >= g.out_height {
                    break;
                }
                let s = |c: usize| &by_rows[(k * 4 + c) * columns..][..columns];
                let (s0, s1, s2, s3) = (s(0), s(1), s(2), s(3));
                let line = &mut plane[y * g.out_width..][..g.out_width];
                let mut pairs = line.chunks_exact_mut(2);
                for (tx, pair) in pairs.by_ref().enumerate() {
                    pair[0] = s0[tx] + s1[tx] + s2[tx] + shift;
                    pair[1] = s1[tx] - s2[tx] - s3[tx] + shift;
                }
                if let [last] = pairs.into_remainder() {
                    let tx = columns - 1;
                    *last = s0[tx] + s1[tx] + s2[tx] + shift;
                }
            }
        }
    }
}

/// The convolution of `input` `[batch, in, h, w]` with the 3×3 `weight`
/// `[out, in, 3, 3]` at stride 1, plus `bias`: `[batch, out, oh, ow]`.
pub(super) fn forward(
    g: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let weights = transform_weights(g, weight);
    let (rows, columns) = tiles(g);
    let threads = rayon::current_num_threads().max(1);
    let group = MIN_PRODUCT_WIDTH
        .div_ceil(rows * columns)
        .min(g.batch.div_ceil(threads))
        .max(1);
    let parallel = g.batch.div_ceil(group) < threads;
    let (outs, ins) = (g.out_channels, g.in_channels);
    let mut output = vec![0.0; g.output_len()];
    output
        .par_chunks_mut(group * outs * g.out_plane())
        .zip(input.par_chunks(group * ins * g.in_plane()))
        .for_each(|(output, input)| {
            with_scratch(|scratch| {
                let samples = output.len() / (outs * g.out_plane());
                let tile_count = samples * rows * columns;
                let transformed = resized(&mut scratch.columns, POINTS * ins * tile_count);
                transform_input(g, input, samples, transformed, &mut scratch.phased);
                let products = resized(&mut scratch.products, POINTS * outs * tile_count);
                for ((product, kernels), tiles) in products
                    .chunks_exact_mut(outs * tile_count)
                    .zip(weights.chunks_exact(outs * ins))
                    .zip(transformed.chunks_exact(ins * tile_count))
                {
                    matmul(
                        MatMut::row_major(product, outs, tile_count),
                        MatRef::row_major(kernels, outs, ins),
                        MatRef::row_major(tiles, ins, tile_count),
                        false,
                        parallel,
                    );
                }
                transform_output(g, products, bias, output, &mut scratch.gathered);
            })
        });
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The convolution by its definition, in f64.
    fn direct(g: &ConvGeometry, input: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f64> {
        let mut output = vec![0.0; g.output_len()];
        for n in 0..g.batch {
            for o in 0..g.out_channels {
                for y in 0..g.out_height {
                    for x in 0..g.out_width {
                        let mut sum = f64::from(bias[o]);
                        for i in 0..g.in_channels {
                            for (ky, kx) in (0..3).flat_map(|ky| (0..3).map(move |kx| (ky, kx))) {
                                let iy = (y + ky).checked_sub(g.padding_start[0]);
                                let ix = (x + kx).checked_sub(g.padding_start[1]);
                                let (Some(iy), Some(ix)) = (iy, ix) else {
                                    continue;
                                };
                                if iy >= g.height || ix >= g.width {
                                    continue;
                                }
                                let value =
                                    input[((n * g.in_channels + i) * g.height + iy) * g.width + ix];
                                let tap = weight[((o * g.in_channels + i) * 3 + ky) * 3 + kx];
                                sum += f64::from(value) * f64::from(tap);
                            }
                        }
                        output[((n * g.out_channels + o) * g.out_height + y) * g.out_width + x] =
                            sum;
                    }
                }
            }
        }
        output
    }

    /// Deterministic values in [−1, 1) (a multiplicative hash).
    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len as u32)
            .map(|i| {
                let h = (i ^ seed).wrapping_mul(2_654_435_761).rotate_left(13);
                (h as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn equals_the_definition_on_odd_sizes_and_paddings() {
        // dims, out channels, padding [[top, bottom], [left, right]].
        let cases: [([usize; 4], usize, [[usize; 2]; 2]); 8] = [
            ([2, 64, 8, 8], 64, [[1, 1], [1, 1]]),
            ([3, 17, 7, 5], 19, [[1, 1], [1, 1]]),
            ([1, 16, 9, 6], 24, [[0, 0], [0, 0]]),
            ([2, 20, 6, 7], 16, [[0, 2], [1, 0]]),
            ([1, 65, 9, 9], 70, [[0, 0], [0, 0]]),
            // 1×1 and 2×2 grids: most of every tile is padding.
            ([5, 16, 1, 1], 16, [[1, 1], [1, 1]]),
            ([40, 16, 2, 2], 18, [[1, 1], [1, 1]]),
            // Several samples per product, the last group short.
            ([7, 32, 3, 5], 16, [[1, 1], [1, 1]]),
        ];
        for (case, (dims, outs, padding)) in cases.into_iter().enumerate() {
            let g = ConvGeometry::new(dims, outs, [3, 3], [1, 1], padding).unwrap();
            let input = values(g.input_len(), 3 * case as u32);
            let weight = values(g.weight_len(), 3 * case as u32 + 1);
            let bias = values(outs, 3 * case as u32 + 2);
            let got = forward(&g, &input, &weight, Some(&bias));
            let want = direct(&g, &input, &weight, &bias);
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert_eq!(got.len(), want.len());
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (f64::from(*a) - b).abs() <= 1e-5 * scale,
                    "{dims:?} → {outs}, padding {padding:?}: [{i}] {a} vs {b} (scale {scale})"
                );
            }
        }
    }
}
