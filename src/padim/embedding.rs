use super::resize::nearest_source;
use super::{ChannelSelection, MapSize, PadimError};

/// One image's feature map from one backbone layer: `channels x height x
/// width` values, row-major (the layout of one item of an NCHW tensor).
#[derive(Debug, Clone, Copy)]
pub struct FeatureMap<'a> {
    pub data: &'a [f32],
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl<'a> FeatureMap<'a> {
    /// A view of `data`; the shape is checked when the map is used.
    pub const fn new(data: &'a [f32], channels: usize, height: usize, width: usize) -> Self {
        Self {
            data,
            channels,
            height,
            width,
        }
    }
}

/// One image's PaDiM embedding: for every position of the first layer's grid,
/// the `d` selected channels of the concatenated layers.
///
/// Stored position-major: `values[(y * width + x) * d + k]` is selected
/// channel `k` at position `(y, x)`. Every value is finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    grid: MapSize,
    d: usize,
    values: Vec<f32>,
}

impl Embedding {
    /// The first layer's grid, which every other layer is resampled to.
    pub fn grid(&self) -> MapSize {
        self.grid
    }

    pub fn d(&self) -> usize {
        self.d
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// The `d` values at grid position `position` (`y * width + x`), or
    /// `None` beyond the grid.
    pub fn get(&self, position: usize) -> Option<&[f32]> {
        self.values.chunks_exact(self.d).nth(position)
    }

    /// As [`Embedding::get`], for positions known to be on the grid.
    pub(crate) fn at(&self, position: usize) -> &[f32] {
        &self.values[position * self.d..][..self.d]
    }
}

impl ChannelSelection {
    /// Assembles PaDiM's embedding of one image from its feature maps, one per
    /// layer in the order the subset was drawn for (layer1, layer2, layer3).
    ///
    /// Every layer is resampled to the first layer's grid by nearest
    /// neighbour, as PyTorch's `F.interpolate(mode="nearest")` does (anomalib;
    /// for the exact factors 2 and 4 of a ResNet this equals the reference
    /// code's `embedding_concat`), then the channels are concatenated and the
    /// subset is kept. Selecting commutes with this resampling, so only the
    /// `d` kept channels are ever read or resampled.
    pub fn embed(&self, layers: &[FeatureMap<'_>]) -> Result<Embedding, PadimError> {
        let expected = self.layer_channels();
        if layers.len() != expected.len() {
            return Err(PadimError::LayerCount {
                expected: expected.len(),
                got: layers.len(),
            });
        }
        for (layer, (map, &channels)) in layers.iter().zip(expected).enumerate() {
            check_shape(layer, map, channels)?;
        }
        let grid = MapSize::new(layers[0].height, layers[0].width);
        let positions = grid.height * grid.width;
        // Per layer, the offset within a channel plane that each grid position
        // reads.
        let offsets: Vec<Vec<usize>> = layers
            .iter()
            .map(|map| {
                let rows: Vec<usize> = (0..grid.height)
                    .map(|y| nearest_source(y, map.height, grid.height))
                    .collect();
                let columns: Vec<usize> = (0..grid.width)
                    .map(|x| nearest_source(x, map.width, grid.width))
                    .collect();
                rows.iter()
                    .flat_map(|&r| columns.iter().map(move |&c| r * map.width + c))
                    .collect()
            })
            .collect();
        let d = self.d();
        let len = positions.checked_mul(d).ok_or(PadimError::SizeOverflow {
            what: "the embedding",
        })?;
        let mut values = vec![0.0f32; len];
        for (k, (layer, channel)) in self.sources().into_iter().enumerate() {
            let map = &layers[layer];
            let plane = &map.data[channel * map.height * map.width..][..map.height * map.width];
            for (position, &offset) in offsets[layer].iter().enumerate() {
                let value = plane[offset];
                if !value.is_finite() {
                    return Err(PadimError::NonFiniteFeature {
                        layer,
                        channel,
                        row: offset / map.width,
                        column: offset % map.width,
                        value,
                    });
                }
                values[position * d + k] = value;
            }
        }
        Ok(Embedding { grid, d, values })
    }
}

fn check_shape(layer: usize, map: &FeatureMap<'_>, channels: usize) -> Result<(), PadimError> {
    if map.channels != channels {
        return Err(PadimError::LayerChannels {
            layer,
            expected: channels,
            got: map.channels,
        });
    }
    let expected = map.channels as u128 * map.height as u128 * map.width as u128;
    if expected != map.data.len() as u128 {
        return Err(PadimError::FeatureMapLength {
            layer,
            channels: map.channels,
            height: map.height,
            width: map.width,
            expected,
            got: map.data.len(),
        });
    }
    if map.height == 0 || map.width == 0 {
        return Err(PadimError::EmptyGrid {
            layer,
            height: map.height,
            width: map.width,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resamples_by_nearest_and_keeps_the_chosen_channels_in_order() {
        // layer 0: 1 channel on 2x2 = [0 1; 2 3]; layer 1: 2 channels on 1x1.
        let l0 = [0.0, 1.0, 2.0, 3.0];
        let l1 = [10.0, 20.0];
        let selection = ChannelSelection::from_indices(&[1, 2], vec![2, 0]).unwrap();
        let layers = [FeatureMap::new(&l0, 1, 2, 2), FeatureMap::new(&l1, 2, 1, 1)];
        let e = selection.embed(&layers).unwrap();
        assert_eq!(e.grid(), MapSize::new(2, 2));
        assert_eq!(e.values(), &[20.0, 0.0, 20.0, 1.0, 20.0, 2.0, 20.0, 3.0]);
        assert_eq!(e.get(3), Some(&[20.0, 3.0][..]));
        assert_eq!(e.get(4), None);
    }

    #[test]
    fn shape_errors_name_the_layer() {
        let selection = ChannelSelection::from_indices(&[1, 2], vec![0]).unwrap();
        let l0 = [0.0; 4];
        let l1 = [0.0; 3];
        let bad = [FeatureMap::new(&l0, 1, 2, 2), FeatureMap::new(&l1, 2, 1, 1)];
        assert_eq!(
            selection.embed(&bad),
            Err(PadimError::FeatureMapLength {
                layer: 1,
                channels: 2,
                height: 1,
                width: 1,
                expected: 2,
                got: 3
            })
        );
        let nan = [f32::NAN; 2];
        let bad = [
            FeatureMap::new(&l0, 1, 2, 2),
            FeatureMap::new(&nan, 2, 1, 1),
        ];
        let selection = ChannelSelection::from_indices(&[1, 2], vec![2]).unwrap();
        assert!(matches!(
            selection.embed(&bad),
            Err(PadimError::NonFiniteFeature {
                layer: 1,
                channel: 1,
                ..
            })
        ));
        assert_eq!(
            selection.embed(&bad[..1]),
            Err(PadimError::LayerCount {
                expected: 2,
                got: 1
            })
        );
    }
}
