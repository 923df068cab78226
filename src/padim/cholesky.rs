//! Per-position linear algebra on small symmetric matrices: packed triangles,
//! the Cholesky factorisation `Σ = L Lᵀ`, and the Mahalanobis distance
//! `sqrt((x - μ)ᵀ Σ⁻¹ (x - μ)) = ‖L⁻¹ (x - μ)‖` by forward substitution.
//!
//! Packed triangles hold the upper triangle of a `d x d` matrix row by row,
//! which is the same as the lower triangle column by column: entry `(i, j)`
//! with `i <= j` (equivalently `(j, i)` of the lower triangle) is at
//! [`tri`]`(d, i, j)`, and row `i` of the upper triangle (column `i` of the
//! lower) is the contiguous run from `tri(d, i, i)` of length `d - i`.

/// The length of a packed `d x d` triangle.
pub(crate) fn packed_len(d: usize) -> usize {
    d * (d + 1) / 2
}

/// The packed index of upper-triangle entry `(i, j)`, `i <= j < d`.
pub(crate) fn tri(d: usize, i: usize, j: usize) -> usize {
    debug_assert!(i <= j && j < d);
    i * d - i * i.saturating_sub(1) / 2 + (j - i)
}

/// Why a matrix is not positive definite: the first channel whose pivot is
/// not a positive finite number, and that pivot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NotPositiveDefinite {
    pub channel: usize,
    pub pivot: f64,
}

/// Factorises the symmetric `d x d` matrix whose lower triangle is in the
/// row-major `matrix` (the upper part is ignored), overwriting that lower
/// triangle with `L`.
pub(crate) fn cholesky_in_place(matrix: &mut [f64], d: usize) -> Result<(), NotPositiveDefinite> {
    let mut row_j = vec![0.0; d];
    for j in 0..d {
        row_j[..j].copy_from_slice(&matrix[j * d..][..j]);
        let pivot = matrix[j * d + j] - dot(&row_j[..j], &row_j[..j]);
        if !(pivot > 0.0 && pivot.is_finite()) {
            return Err(NotPositiveDefinite { channel: j, pivot });
        }
        let diagonal = pivot.sqrt();
        matrix[j * d + j] = diagonal;
        for i in j + 1..d {
            let row_i = &mut matrix[i * d..][..=j];
            row_i[j] = (row_i[j] - dot(&row_i[..j], &row_j[..j])) / diagonal;
        }
    }
    Ok(())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `‖L⁻¹ δ‖²` for the packed factor `l` and several `δ` at once, destroying
/// them: `deltas` holds them interleaved (component `i` of the `b`-th at
/// `i · count + b`, `count = totals.len()`) and `totals[b]` gets the `b`-th
/// norm. The factor is read once for all of them: at d = 100 it is 20 KB a
/// position, so one image at a time the solve waited on memory. Each `δ`
/// goes through the same operations in the same order as alone, so the
/// results do not depend on how many are solved together.
pub(crate) fn squared_norms_of_solve(l: &[f32], deltas: &mut [f64], totals: &mut [f64]) {
    let count = totals.len();
    let d = deltas.len() / count.max(1);
    totals.fill(0.0);
    let mut start = 0;
    for j in 0..d {
        let column = &l[start..start + d - j];
        start += d - j;
        let (solved, rest) = deltas[j * count..].split_at_mut(count);
        let pivot = f64::from(column[0]);
        for (y, total) in solved.iter_mut().zip(totals.iter_mut()) {
            *y /= pivot;
            *total += *y * *y;
        }
        for (row, &v) in rest.chunks_exact_mut(count).zip(&column[1..]) {
            let v = f64::from(v);
            for (t, &y) in row.iter_mut().zip(solved.iter()) {
                *t -= y * v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_indices_run_row_by_row() {
        // d = 3: (0,0) (0,1) (0,2) (1,1) (1,2) (2,2)
        let got: Vec<usize> = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
            .iter()
            .map(|&(i, j)| tri(3, i, j))
            .collect();
        assert_eq!(got, [0, 1, 2, 3, 4, 5]);
        assert_eq!(packed_len(3), 6);
    }

    #[test]
    fn factorises_and_solves_a_worked_example() {
        // [[4, 2], [2, 5]] = L Lᵀ with L = [[2, 0], [1, 2]].
        let mut m = vec![4.0, f64::NAN, 2.0, 5.0];
        cholesky_in_place(&mut m, 2).unwrap();
        assert_eq!((m[0], m[2], m[3]), (2.0, 1.0, 2.0));
        // δ = (2, 5): L y = δ gives y = (1, 2), so the squared distance is 5;
        // check: δᵀ Σ⁻¹ δ = [2 5] [[5,-2],[-2,4]]/16 [2 5]ᵀ = 80/16 = 5.
        let packed = [2.0f32, 1.0, 2.0];
        let mut totals = [0.0];
        squared_norms_of_solve(&packed, &mut [2.0, 5.0], &mut totals);
        assert_eq!(totals, [5.0]);
        // With δ = (4, 2) beside it (interleaved): y = (2, 0), so 4.
        let mut totals = [0.0; 2];
        squared_norms_of_solve(&packed, &mut [2.0, 4.0, 5.0, 2.0], &mut totals);
        assert_eq!(totals, [5.0, 4.0]);
    }

    #[test]
    fn reports_the_first_bad_pivot() {
        let mut m = vec![1.0, 0.0, 1.0, 1.0];
        assert_eq!(
            cholesky_in_place(&mut m, 2),
            Err(NotPositiveDefinite {
                channel: 1,
                pivot: 0.0
            })
        );
    }
}
