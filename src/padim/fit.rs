//! Streaming estimation of PaDiM's per-position Gaussians (Defard et al.
//! 2021, Eq. 1): mean `μ` and unbiased covariance
//! `Σ = 1/(N-1) Σₖ (xₖ - μ)(xₖ - μ)ᵀ + λI`, one per grid position.
//!
//! The reference code and anomalib keep every training embedding
//! (`N x d x positions` floats) and compute the covariance at the end; we keep
//! only running sums, so memory is `positions x (d + d(d+1)/2)` f64 however
//! many images are fitted. The sums are of `x - K`, where `K` is the first
//! image's embedding: shifting by a sample near the mean keeps
//! `Σ(x-K)(x-K)ᵀ - S Sᵀ/N` free of the catastrophic cancellation the textbook
//! one-pass formula suffers when features have large means.

use super::cholesky::{cholesky_in_place, packed_len, tri};
use super::parallel::{for_each_blocks_mut, map_ranges};
use super::{ChannelSelection, Embedding, FeatureMap, MapSize, PadimError, PadimStats};

/// PaDiM's covariance regulariser `λ` (the `0.01·I` of the reference code).
pub const PADIM_REGULARISER: f64 = 0.01;

/// Accumulates PaDiM statistics image by image; [`PadimFitter::finish`]
/// turns them into [`PadimStats`].
#[derive(Debug, Clone)]
pub struct PadimFitter {
    selection: ChannelSelection,
    input: MapSize,
    regulariser: f64,
    images: u64,
    /// Set by the first image: its layer-1 grid and its embedding, the shift.
    first: Option<Embedding>,
    /// Per position, `d` sums of `x - K` followed by the packed upper triangle
    /// of the sums of `(x - K)(x - K)ᵀ`.
    sums: Vec<f64>,
}

/// The unregularised moments of one position, in f64.
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    /// `d` values.
    pub mean: Vec<f64>,
    /// `d x d` row-major, the unbiased sample covariance (without `λI`).
    pub covariance: Vec<f64>,
}

impl PadimFitter {
    /// A fitter for images of `input` pixels whose features are reduced to
    /// the channels of `selection`, with covariance regulariser `regulariser`
    /// ([`PADIM_REGULARISER`] in PaDiM).
    pub fn new(
        selection: ChannelSelection,
        input: MapSize,
        regulariser: f64,
    ) -> Result<Self, PadimError> {
        if input.is_empty() || input.checked_area().is_none() {
            return Err(PadimError::EmptySize { size: input });
        }
        check_regulariser(regulariser)?;
        Ok(Self {
            selection,
            input,
            regulariser,
            images: 0,
            first: None,
            sums: Vec::new(),
        })
    }

    pub fn selection(&self) -> &ChannelSelection {
        &self.selection
    }

    /// The number of images accumulated so far.
    pub fn images(&self) -> u64 {
        self.images
    }

    /// Changes the regulariser, for example after [`PadimFitter::finish`]
    /// reported a covariance that is not positive definite; the accumulated
    /// sums are kept.
    pub fn set_regulariser(&mut self, regulariser: f64) -> Result<(), PadimError> {
        check_regulariser(regulariser)?;
        self.regulariser = regulariser;
        Ok(())
    }

    /// Adds one image, given its feature maps (layer1, layer2, layer3).
    pub fn push(&mut self, layers: &[FeatureMap<'_>]) -> Result<(), PadimError> {
        self.push_batch(&[layers])
    }

    /// Adds several images at once; faster than one at a time, because each
    /// position's sums are updated for the whole batch while in cache. The
    /// batch is checked first: on error nothing is added.
    pub fn push_batch<'a, I: AsRef<[FeatureMap<'a>]>>(
        &mut self,
        images: &[I],
    ) -> Result<(), PadimError> {
        let embeddings = images
            .iter()
            .map(|layers| self.selection.embed(layers.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if embeddings.is_empty() {
            return Ok(());
        }
        let grid = self.first.as_ref().unwrap_or(&embeddings[0]).grid();
        for e in &embeddings {
            if e.grid() != grid {
                return Err(PadimError::GridMismatch {
                    expected: grid,
                    got: e.grid(),
                });
            }
        }
        let d = self.selection.d();
        let block = d + packed_len(d);
        if self.first.is_none() {
            let positions = grid.height * grid.width;
            let len = positions
                .checked_mul(block)
                .ok_or(PadimError::SizeOverflow { what: "the sums" })?;
            // R50 at 224 px needs about 3.8 GB here: fail with a message
            // rather than abort, above all in a browser's 4 GB wasm memory.
            self.sums
                .try_reserve_exact(len)
                .map_err(|_| PadimError::OutOfMemory {
                    what: "the covariance sums",
                    bytes: len as u128 * 8,
                })?;
            self.sums.resize(len, 0.0);
        }
        let first = &*self.first.get_or_insert_with(|| embeddings[0].clone());
        for_each_blocks_mut(&mut self.sums, block, |first_position, chunk| {
            let mut xs = vec![0.0f64; embeddings.len() * d];
            for (offset, sums) in chunk.chunks_exact_mut(block).enumerate() {
                let position = first_position + offset;
                let shift = first.at(position);
                for (x, e) in xs.chunks_exact_mut(d).zip(&embeddings) {
                    for ((x, &v), &k) in x.iter_mut().zip(e.at(position)).zip(shift) {
                        *x = f64::from(v) - f64::from(k);
                    }
                }
                accumulate(sums, &xs, d);
            }
        });
        self.images += embeddings.len() as u64;
        Ok(())
    }

    /// The mean and unbiased covariance (without the regulariser) at grid
    /// position `position` (`y * width + x`), from the sums so far.
    pub fn moments(&self, position: usize) -> Result<Moments, PadimError> {
        let first = self.first_for_moments()?;
        let positions = first.grid().height * first.grid().width;
        if position >= positions {
            return Err(PadimError::PositionOutOfRange {
                position,
                positions,
            });
        }
        let d = self.selection.d();
        let mut covariance = vec![0.0; d * d];
        let mean = self.moments_into(first, position, &mut covariance);
        for i in 0..d {
            for j in 0..i {
                covariance[j * d + i] = covariance[i * d + j];
            }
        }
        Ok(Moments { mean, covariance })
    }

    fn first_for_moments(&self) -> Result<&Embedding, PadimError> {
        match &self.first {
            Some(first) if self.images >= 2 => Ok(first),
            _ => Err(PadimError::TooFewImages {
                images: self.images,
            }),
        }
    }

    /// Writes the covariance's lower triangle into the row-major `d x d`
    /// `covariance` and returns the mean.
    fn moments_into(&self, first: &Embedding, position: usize, covariance: &mut [f64]) -> Vec<f64> {
        let d = self.selection.d();
        let block = d + packed_len(d);
        let (sum, cross) = self.sums[position * block..][..block].split_at(d);
        let n = self.images as f64;
        let mean = first
            .at(position)
            .iter()
            .zip(sum)
            .map(|(&k, &s)| f64::from(k) + s / n)
            .collect();
        for i in 0..d {
            for j in i..d {
                covariance[j * d + i] = (cross[tri(d, i, j)] - sum[i] * sum[j] / n) / (n - 1.0);
            }
        }
        mean
    }

    /// PaDiM's statistics from the images so far: per position the mean and
    /// the Cholesky factor of the covariance plus `λI`, factorised in f64 in
    /// parallel over positions and stored in f32.
    ///
    /// Errors when fewer than 2 images were added, or when a regularised
    /// covariance is not positive definite (the error names the first such
    /// position; raise the regulariser and call this again).
    pub fn finish(&self) -> Result<PadimStats, PadimError> {
        let first = self.first_for_moments()?;
        let grid = first.grid();
        let positions = grid.height * grid.width;
        let d = self.selection.d();
        let chunks = map_ranges(positions, |range| {
            let mut mean = Vec::with_capacity(range.len() * d);
            let mut factor = Vec::with_capacity(range.len() * packed_len(d));
            let mut matrix = vec![0.0; d * d];
            for position in range {
                let m = self.moments_into(first, position, &mut matrix);
                mean.extend(m.iter().map(|&v| v as f32));
                for i in 0..d {
                    matrix[i * d + i] += self.regulariser;
                }
                let failed = |channel, pivot| PadimError::NotPositiveDefinite {
                    row: position / grid.width,
                    column: position % grid.width,
                    channel,
                    pivot,
                    regulariser: self.regulariser,
                    suggested: self.regulariser * 10.0,
                };
                cholesky_in_place(&mut matrix, d).map_err(|e| failed(e.channel, e.pivot))?;
                for j in 0..d {
                    for i in j..d {
                        let v = matrix[i * d + j] as f32;
                        if !v.is_finite() || (i == j && v <= 0.0) {
                            return Err(PadimError::CovarianceOverflow {
                                row: position / grid.width,
                                column: position % grid.width,
                            });
                        }
                        factor.push(v);
                    }
                }
            }
            Ok((mean, factor))
        });
        let mut mean = Vec::with_capacity(positions * d);
        let mut factor = Vec::with_capacity(positions * packed_len(d));
        for chunk in chunks {
            let (m, f) = chunk?;
            mean.extend(m);
            factor.extend(f);
        }
        PadimStats::new(
            self.selection.clone(),
            grid,
            self.input,
            self.images,
            self.regulariser,
            mean,
            factor,
        )
    }
}

/// Adds the rows of `xs` (`n x d`, row-major) to one position's `sums`:
/// `d` sums, then the packed upper triangle of the cross-products.
///
/// Four images are added per pass over the triangle, so each accumulator is
/// loaded and stored once per four rank-1 updates.
fn accumulate(sums: &mut [f64], xs: &[f64], d: usize) {
    let (sum, cross) = sums.split_at_mut(d);
    for x in xs.chunks_exact(d) {
        for (s, &x) in sum.iter_mut().zip(x) {
            *s += x;
        }
    }
    let mut groups = xs.chunks_exact(4 * d);
    for group in &mut groups {
        let (x0, rest) = group.split_at(d);
        let (x1, rest) = rest.split_at(d);
        let (x2, x3) = rest.split_at(d);
        let mut start = 0;
        for i in 0..d {
            let row = &mut cross[start..start + d - i];
            start += d - i;
            let (a0, a1, a2, a3) = (x0[i], x1[i], x2[i], x3[i]);
            for ((((c, &b0), &b1), &b2), &b3) in row
                .iter_mut()
                .zip(&x0[i..])
                .zip(&x1[i..])
                .zip(&x2[i..])
                .zip(&x3[i..])
            {
                *c += a0 * b0 + a1 * b1 + a2 * b2 + a3 * b3;
            }
        }
    }
    for x in groups.remainder().chunks_exact(d) {
        let mut start = 0;
        for i in 0..d {
            let row = &mut cross[start..start + d - i];
            start += d - i;
            let a = x[i];
            for (c, &b) in row.iter_mut().zip(&x[i..]) {
                *c += a * b;
            }
        }
    }
}

pub(crate) fn check_regulariser(regulariser: f64) -> Result<(), PadimError> {
    if regulariser.is_finite() && regulariser > 0.0 {
        Ok(())
    } else {
        Err(PadimError::InvalidRegulariser(regulariser))
    }
}
