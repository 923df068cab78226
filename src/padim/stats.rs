use serde::{Deserialize, Serialize};

use super::cholesky::{packed_len, tri};
use super::fit::check_regulariser;
use super::{ChannelSelection, MapSize, PadimError};

/// Fitted PaDiM statistics: everything needed to score an image's features.
///
/// Per position of the layer-1 grid (row-major), the mean `μ` (`d` values)
/// and the Cholesky factor `L` of the regularised covariance `Σ + λI = L Lᵀ`,
/// packed column by column (column `j` holds `L[j..d, j]`, `d(d+1)/2` values),
/// both as f32. Storing `L` rather than `Σ⁻¹` halves the size and scores by a
/// backward-stable triangular solve. Built by [`super::PadimFitter::finish`],
/// [`PadimStats::from_bytes`] or serde, all of which check every length and
/// value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StatsFields")]
pub struct PadimStats {
    selection: ChannelSelection,
    grid: MapSize,
    input: MapSize,
    images: u64,
    regulariser: f64,
    mean: Vec<f32>,
    cholesky: Vec<f32>,
}

#[derive(Deserialize)]
struct StatsFields {
    selection: ChannelSelection,
    grid: MapSize,
    input: MapSize,
    images: u64,
    regulariser: f64,
    mean: Vec<f32>,
    cholesky: Vec<f32>,
}

impl TryFrom<StatsFields> for PadimStats {
    type Error = PadimError;

    fn try_from(f: StatsFields) -> Result<Self, PadimError> {
        Self::new(
            f.selection,
            f.grid,
            f.input,
            f.images,
            f.regulariser,
            f.mean,
            f.cholesky,
        )
    }
}

impl PadimStats {
    pub(crate) fn new(
        selection: ChannelSelection,
        grid: MapSize,
        input: MapSize,
        images: u64,
        regulariser: f64,
        mean: Vec<f32>,
        cholesky: Vec<f32>,
    ) -> Result<Self, PadimError> {
        for size in [grid, input] {
            if size.is_empty() {
                return Err(PadimError::EmptySize { size });
            }
            // The binary form stores sizes as u32.
            if u32::try_from(size.height.max(size.width)).is_err() {
                return Err(PadimError::SizeOverflow {
                    what: "the grid or input size",
                });
            }
        }
        if images < 2 {
            return Err(PadimError::TooFewImages { images });
        }
        check_regulariser(regulariser)?;
        let d = selection.d();
        let (mean_len, factor_len) = value_counts(grid, d)?;
        check_len("mean", mean_len, mean.len())?;
        check_len("Cholesky factor", factor_len, cholesky.len())?;
        if let Some(index) = mean.iter().position(|v| !v.is_finite()) {
            return Err(PadimError::InvalidStat {
                what: "mean",
                index,
                value: f64::from(mean[index]),
            });
        }
        let invalid = |index: usize| PadimError::InvalidStat {
            what: "Cholesky factor",
            index,
            value: f64::from(cholesky[index]),
        };
        if let Some(index) = cholesky.iter().position(|v| !v.is_finite()) {
            return Err(invalid(index));
        }
        // A factor with a non-positive diagonal is not a Cholesky factor and
        // would divide by zero when scoring.
        let per_position = packed_len(d);
        for start in (0..cholesky.len()).step_by(per_position.max(1)) {
            for j in 0..d {
                let index = start + tri(d, j, j);
                if cholesky[index] <= 0.0 {
                    return Err(invalid(index));
                }
            }
        }
        Ok(Self {
            selection,
            grid,
            input,
            images,
            regulariser,
            mean,
            cholesky,
        })
    }

    /// The same statistics with other Cholesky factors (rounded ones, for a
    /// half-precision bundle), checked as on construction.
    pub(crate) fn with_cholesky_factors(&self, cholesky: Vec<f32>) -> Result<Self, PadimError> {
        Self::new(
            self.selection.clone(),
            self.grid,
            self.input,
            self.images,
            self.regulariser,
            self.mean.clone(),
            cholesky,
        )
    }

    /// The channel subset the statistics were fitted with.
    pub fn selection(&self) -> &ChannelSelection {
        &self.selection
    }

    /// The number of channels per position, PaDiM's `d`.
    pub fn d(&self) -> usize {
        self.selection.d()
    }

    /// The layer-1 feature grid.
    pub fn grid(&self) -> MapSize {
        self.grid
    }

    /// The input image size anomaly maps are upsampled to.
    pub fn input(&self) -> MapSize {
        self.input
    }

    /// The number of training images fitted.
    pub fn images(&self) -> u64 {
        self.images
    }

    /// The covariance regulariser `λ` that was added.
    pub fn regulariser(&self) -> f64 {
        self.regulariser
    }

    /// All means, position-major (`positions x d`).
    pub fn means(&self) -> &[f32] {
        &self.mean
    }

    /// All packed Cholesky factors, position-major.
    pub fn cholesky_factors(&self) -> &[f32] {
        &self.cholesky
    }

    pub(crate) fn mean_at(&self, position: usize) -> &[f32] {
        &self.mean[position * self.d()..][..self.d()]
    }

    pub(crate) fn factor_at(&self, position: usize) -> &[f32] {
        let len = packed_len(self.d());
        &self.cholesky[position * len..][..len]
    }

    fn check_position(&self, position: usize) -> Result<(), PadimError> {
        let positions = self.grid.height * self.grid.width;
        if position < positions {
            Ok(())
        } else {
            Err(PadimError::PositionOutOfRange {
                position,
                positions,
            })
        }
    }

    /// `L` at `position` as a row-major `d x d` lower-triangular matrix.
    fn factor_matrix(&self, position: usize) -> Vec<f64> {
        let d = self.d();
        let packed = self.factor_at(position);
        let mut l = vec![0.0; d * d];
        for j in 0..d {
            for i in j..d {
                l[i * d + j] = f64::from(packed[tri(d, j, i)]);
            }
        }
        l
    }

    /// The regularised covariance `L Lᵀ` at `position`, `d x d` row-major.
    pub fn covariance(&self, position: usize) -> Result<Vec<f64>, PadimError> {
        self.check_position(position)?;
        let d = self.d();
        let l = self.factor_matrix(position);
        let mut c = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                let k = i.min(j) + 1;
                c[i * d + j] = (0..k).map(|k| l[i * d + k] * l[j * d + k]).sum();
            }
        }
        Ok(c)
    }

    /// The inverse of the regularised covariance at `position`,
    /// `L⁻ᵀ L⁻¹`, `d x d` row-major (for inspection; scoring solves with `L`).
    pub fn inverse_covariance(&self, position: usize) -> Result<Vec<f64>, PadimError> {
        self.check_position(position)?;
        let d = self.d();
        let l = self.factor_matrix(position);
        // W = L⁻¹ by forward substitution, column by column.
        let mut w = vec![0.0; d * d];
        for col in 0..d {
            for i in col..d {
                let rhs = if i == col { 1.0 } else { 0.0 };
                let s: f64 = (col..i).map(|k| l[i * d + k] * w[k * d + col]).sum();
                w[i * d + col] = (rhs - s) / l[i * d + i];
            }
        }
        let mut inverse = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                inverse[i * d + j] = (i.max(j)..d).map(|k| w[k * d + i] * w[k * d + j]).sum();
            }
        }
        Ok(inverse)
    }
}

/// The mean and factor lengths for `grid` and `d`, checked for overflow.
pub(crate) fn value_counts(grid: MapSize, d: usize) -> Result<(usize, usize), PadimError> {
    let overflow = PadimError::SizeOverflow {
        what: "the statistics",
    };
    let positions = grid.checked_area().ok_or(overflow.clone())?;
    let per_position = d
        .checked_mul(d + 1)
        .map(|n| n / 2)
        .ok_or(overflow.clone())?;
    let mean = positions.checked_mul(d).ok_or(overflow.clone())?;
    let factor = positions.checked_mul(per_position).ok_or(overflow)?;
    Ok((mean, factor))
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), PadimError> {
    if expected == got {
        Ok(())
    } else {
        Err(PadimError::StatsLength {
            what,
            expected,
            got,
        })
    }
}
