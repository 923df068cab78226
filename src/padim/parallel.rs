//! Data-parallel loops over disjoint chunks: scoped threads on native targets,
//! a plain loop on wasm32, where `std::thread` cannot spawn.

use std::ops::Range;

/// Calls `f(first_block, chunk)` on disjoint chunks of `data`, each a whole
/// number of `block_len`-long blocks; `first_block` is the index of the
/// chunk's first block.
#[cfg(not(target_family = "wasm"))]
pub(crate) fn for_each_blocks_mut<T, F>(data: &mut [T], block_len: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    let blocks = data.len().checked_div(block_len).unwrap_or(0);
    let parts = ranges(blocks, threads());
    if parts.len() <= 1 {
        f(0, data);
        return;
    }
    std::thread::scope(|scope| {
        let f = &f;
        let mut rest = data;
        for range in parts {
            let (chunk, tail) = rest.split_at_mut(range.len() * block_len);
            rest = tail;
            scope.spawn(move || f(range.start, chunk));
        }
    });
}

#[cfg(target_family = "wasm")]
pub(crate) fn for_each_blocks_mut<T, F>(data: &mut [T], _block_len: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    f(0, data);
}

/// `f` applied to contiguous ranges covering `0..items`, results in order.
#[cfg(not(target_family = "wasm"))]
pub(crate) fn map_ranges<R, F>(items: usize, f: F) -> Vec<R>
where
    R: Send,
    F: Fn(Range<usize>) -> R + Sync,
{
    let parts = ranges(items, threads());
    if parts.len() <= 1 {
        return vec![f(0..items)];
    }
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = parts
            .into_iter()
            .map(|range| scope.spawn(move || f(range)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(target_family = "wasm")]
pub(crate) fn map_ranges<R, F>(items: usize, f: F) -> Vec<R>
where
    R: Send,
    F: Fn(Range<usize>) -> R + Sync,
{
    vec![f(0..items)]
}

/// `f` of each item, the items split over the CPU's threads as
/// [`map_ranges`] splits them; results, and the first error, in item order.
pub(crate) fn try_map_in_order<T, R, E>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
{
    map_ranges(items.len(), |range| {
        items[range].iter().map(&f).collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(not(target_family = "wasm"))]
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Splits `0..items` into at most `parts` contiguous, non-empty ranges (one
/// empty range when there are no items).
#[cfg(not(target_family = "wasm"))]
fn ranges(items: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, items.max(1));
    (0..parts)
        .map(|i| items * i / parts..items * (i + 1) / parts)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(target_family = "wasm"))]
    #[test]
    fn ranges_cover_everything_once() {
        assert_eq!(ranges(10, 3), vec![0..3, 3..6, 6..10]);
        assert_eq!(ranges(2, 8), vec![0..1, 1..2]);
        assert_eq!(ranges(0, 4), vec![0..0]);
    }

    #[test]
    fn chunks_see_their_first_block() {
        let mut data = vec![0usize; 3 * 7];
        for_each_blocks_mut(&mut data, 3, |first, chunk| {
            for (i, block) in chunk.chunks_mut(3).enumerate() {
                block.fill(first + i);
            }
        });
        let expected: Vec<usize> = (0..7).flat_map(|b| [b; 3]).collect();
        assert_eq!(data, expected);
        let sums = map_ranges(100, |r| r.sum::<usize>());
        assert_eq!(sums.iter().sum::<usize>(), 4950);
    }
}
