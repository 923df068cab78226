//! The two resampling rules PaDiM uses, written to match PyTorch's
//! `F.interpolate`: `mode="nearest"` for bringing layer2/layer3 onto layer1's
//! grid, and `mode="bilinear", align_corners=False` for bringing the score map
//! to the input size.

use super::{MapSize, PadimError, ScoreMap};

/// The source index PyTorch's nearest-neighbour interpolation reads for
/// output index `output` (`aten/src/ATen/native/UpSample.h`, `nearest_idx`):
/// exact factors of 1 and 2 are special-cased, other ratios use a float32
/// scale, as in PyTorch, so that borderline indices round the same way.
pub(crate) fn nearest_source(output: usize, input_len: usize, output_len: usize) -> usize {
    if output_len == input_len {
        output
    } else if output_len == 2 * input_len {
        output >> 1
    } else {
        let scale = input_len as f32 / output_len as f32;
        ((output as f32 * scale).floor() as usize).min(input_len - 1)
    }
}

/// One output coordinate of bilinear interpolation: the two source indices
/// and the weight of the second.
#[derive(Debug, Clone, Copy)]
struct Tap {
    low: usize,
    high: usize,
    weight_high: f64,
}

/// PyTorch's `align_corners=False` source coordinates
/// (`area_pixel_compute_source_index`): pixel centres are aligned, so output
/// pixel `o` samples input coordinate `(o + 0.5) * in / out - 0.5`, clamped
/// below at 0; the upper neighbour is clamped to the last input pixel.
fn taps(input_len: usize, output_len: usize) -> Vec<Tap> {
    let scale = input_len as f64 / output_len as f64;
    (0..output_len)
        .map(|o| {
            let source = (scale * (o as f64 + 0.5) - 0.5).max(0.0);
            let low = (source as usize).min(input_len - 1);
            let high = if low + 1 < input_len { low + 1 } else { low };
            Tap {
                low,
                high,
                weight_high: source - low as f64,
            }
        })
        .collect()
}

/// Resizes `map` to `size` by bilinear interpolation with PyTorch's
/// `F.interpolate(mode="bilinear", align_corners=False)` semantics (no
/// anti-aliasing), computed in f64.
pub fn resize_bilinear(map: &ScoreMap, size: MapSize) -> Result<ScoreMap, PadimError> {
    if size.is_empty() || size.checked_area().is_none() {
        return Err(PadimError::EmptySize { size });
    }
    let source = map.size();
    let rows = taps(source.height, size.height);
    let columns = taps(source.width, size.width);
    let values = map.values();
    let mut out = Vec::with_capacity(size.height * size.width);
    for row in &rows {
        let upper = &values[row.low * source.width..][..source.width];
        let lower = &values[row.high * source.width..][..source.width];
        for column in &columns {
            let top = lerp(upper[column.low], upper[column.high], column.weight_high);
            let bottom = lerp(lower[column.low], lower[column.high], column.weight_high);
            out.push(((1.0 - row.weight_high) * top + row.weight_high * bottom) as f32);
        }
    }
    ScoreMap::new(size, out)
}

fn lerp(a: f32, b: f32, weight_b: f64) -> f64 {
    (1.0 - weight_b) * f64::from(a) + weight_b * f64::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_matches_pytorch_index_rule() {
        // F.interpolate(torch.arange(2.).view(1,1,1,2), size=(1,6)) -> [0,0,0,1,1,1]
        let got: Vec<usize> = (0..6).map(|o| nearest_source(o, 2, 6)).collect();
        assert_eq!(got, [0, 0, 0, 1, 1, 1]);
        let got: Vec<usize> = (0..8).map(|o| nearest_source(o, 2, 8)).collect();
        assert_eq!(got, [0, 0, 0, 0, 1, 1, 1, 1]);
        let got: Vec<usize> = (0..5).map(|o| nearest_source(o, 3, 5)).collect();
        // scale 0.6: floor(0, .6, 1.2, 1.8, 2.4)
        assert_eq!(got, [0, 0, 1, 1, 2]);
    }

    #[test]
    fn bilinear_matches_pytorch_on_a_worked_example() {
        // F.interpolate(torch.tensor([[[[0., 4.]]]]), size=(1, 4),
        // mode="bilinear", align_corners=False) = [0, 1, 3, 4]:
        // sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (upper clamped).
        let map = ScoreMap::new(MapSize::new(1, 2), vec![0.0, 4.0]).unwrap();
        let out = resize_bilinear(&map, MapSize::new(1, 4)).unwrap();
        assert_eq!(out.values(), &[0.0, 1.0, 3.0, 4.0]);
        let out = resize_bilinear(&map, MapSize::new(3, 2)).unwrap();
        assert_eq!(out.values(), &[0.0, 4.0, 0.0, 4.0, 0.0, 4.0]);
    }

    #[test]
    fn bilinear_rejects_an_empty_target() {
        let map = ScoreMap::new(MapSize::new(1, 2), vec![0.0, 4.0]).unwrap();
        assert_eq!(
            resize_bilinear(&map, MapSize::new(0, 4)),
            Err(PadimError::EmptySize {
                size: MapSize::new(0, 4)
            })
        );
    }
}
