//! A checked front to the `gemm` crate (the matrix product flex itself uses)
//! for the strided matrix views the convolution kernels need.

use gemm::Parallelism;

/// A matrix over a slice: element `(i, j)` sits at `i * row_stride + j * col_stride`.
#[derive(Clone, Copy)]
pub(super) struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// The `rows × cols` matrix stored row after row.
    pub(super) fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        MatRef {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The same numbers read as the transposed matrix (no copy).
    pub(super) fn transposed(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Whether every element's index lies inside the slice.
    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
                < self.data.len()
    }
}

/// A writable `rows × cols` matrix over a slice, stored row after row or
/// column after column.
pub(super) struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    column_major: bool,
}

impl<'a> MatMut<'a> {
    pub(super) fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        MatMut {
            data,
            rows,
            cols,
            column_major: false,
        }
    }

    /// Column-major: gemm's own layout, so it does not swap the operands
    /// (which decides which operand it must repack).
    pub(super) fn column_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        MatMut {
            data,
            rows,
            cols,
            column_major: true,
        }
    }

    /// (row stride, column stride).
    fn strides(&self) -> (isize, isize) {
        if self.column_major {
            (1, self.rows as isize)
        } else {
            (self.cols as isize, 1)
        }
    }
}

/// `dst = lhs · rhs`, or `dst += lhs · rhs` with `accumulate`; `dst` is
/// `lhs.rows × rhs.cols`. `parallel` lets gemm split the product over
/// rayon's pool (for callers that are not already splitting work).
///
/// # Panics
/// When the shapes disagree or a view reaches past its slice: the callers
/// derive every shape from one geometry, so this is a broken invariant.
pub(super) fn matmul(
    dst: MatMut<'_>,
    lhs: MatRef<'_>,
    rhs: MatRef<'_>,
    accumulate: bool,
    parallel: bool,
) {
    assert_eq!(lhs.cols, rhs.rows, "inner dimensions of a product");
    assert_eq!(
        (dst.rows, dst.cols),
        (lhs.rows, rhs.cols),
        "product's destination"
    );
    assert_eq!(dst.data.len(), dst.rows * dst.cols, "product's destination");
    let (dst_row_stride, dst_col_stride) = dst.strides();
    let dst = dst.data;
    assert!(lhs.fits() && rhs.fits(), "a matrix view past its slice");
    if dst.is_empty() {
        return;
    }
    if lhs.cols == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    let parallelism = if parallel {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    };
    // SAFETY: the three views were checked to lie inside their slices, `dst`
    // is exclusively borrowed and holds exactly `lhs.rows × rhs.cols`
    // elements, and the inputs are shared borrows that cannot alias it.
    unsafe {
        gemm::gemm(
            lhs.rows,
            rhs.cols,
            lhs.cols,
            dst.as_mut_ptr(),
            dst_col_stride,
            dst_row_stride,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_of_plain_and_transposed_views_match_hand_computed_values() {
        // [[1, 2, 3], [4, 5, 6]] · [[1, 0], [0, 1], [1, 1]] = [[4, 5], [10, 11]].
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut dst = [0.0; 4];
        matmul(
            MatMut::row_major(&mut dst, 2, 2),
            MatRef::row_major(&a, 2, 3),
            MatRef::row_major(&b, 3, 2),
            false,
            false,
        );
        assert_eq!(dst, [4.0, 5.0, 10.0, 11.0]);
        // aᵀ · a = [[17, 22, 27], [22, 29, 36], [27, 36, 45]], accumulated onto ones.
        let mut gram = [1.0; 9];
        let a_view = MatRef::row_major(&a, 2, 3);
        matmul(
            MatMut::row_major(&mut gram, 3, 3),
            a_view.transposed(),
            a_view,
            true,
            true,
        );
        assert_eq!(gram, [18.0, 23.0, 28.0, 23.0, 30.0, 37.0, 28.0, 37.0, 46.0]);
        // The first product stored column-major: [[4, 10], [5, 11]] in memory.
        let mut columns = [0.0; 4];
        matmul(
            MatMut::column_major(&mut columns, 2, 2),
            MatRef::row_major(&a, 2, 3),
            MatRef::row_major(&b, 3, 2),
            false,
            false,
        );
        assert_eq!(columns, [4.0, 10.0, 5.0, 11.0]);
    }
}
