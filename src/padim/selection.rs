use serde::{Deserialize, Serialize};

use super::PadimError;
use crate::rng::Rng;

/// The fixed random subset of embedding channels PaDiM keeps (Defard et al.
/// 2021, section 3: "random dimensionality reduction"; R18: 448 -> 100,
/// R50: 1792 -> 550).
///
/// Channels are numbered across the concatenated layers: layer 0's channels
/// first, then layer 1's, and so on, as in PaDiM's `torch.cat` of layer1,
/// layer2 and layer3. The subset is drawn once, stored with the statistics and
/// reused for every image, so fitting and scoring see the same channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SelectionFields")]
pub struct ChannelSelection {
    layer_channels: Vec<usize>,
    indices: Vec<usize>,
}

#[derive(Deserialize)]
struct SelectionFields {
    layer_channels: Vec<usize>,
    indices: Vec<usize>,
}

impl TryFrom<SelectionFields> for ChannelSelection {
    type Error = PadimError;

    fn try_from(fields: SelectionFields) -> Result<Self, PadimError> {
        Self::from_indices(&fields.layer_channels, fields.indices)
    }
}

impl ChannelSelection {
    /// Draws `d` distinct channels out of the layers' `layer_channels`
    /// uniformly at random, deterministically from `seed`, sorted ascending.
    ///
    /// The generator is [`Rng::from_key`]`(seed)`; a partial Fisher-Yates
    /// shuffle draws each position with [`Rng::below`]. The same seed gives the
    /// same channels on every platform. (PaDiM's reference code uses Python's
    /// `random.sample` with seed 1024, which cannot be reproduced here: pass
    /// its indices to [`ChannelSelection::from_indices`] to match it exactly.)
    pub fn random(layer_channels: &[usize], d: usize, seed: u64) -> Result<Self, PadimError> {
        let total = total_channels(layer_channels)?;
        if d == 0 || d > total {
            return Err(PadimError::InvalidD { d, total });
        }
        let mut rng = Rng::from_key(seed);
        let mut pool: Vec<usize> = (0..total).collect();
        for i in 0..d {
            // `total - i` fits in u64 because `total` came from a u32 check.
            let j = i + rng.below((total - i) as u64) as usize;
            pool.swap(i, j);
        }
        pool.truncate(d);
        // Mahalanobis distances do not depend on the channel order; ascending
        // order makes the gather from the feature maps sequential.
        pool.sort_unstable();
        Ok(Self {
            layer_channels: layer_channels.to_vec(),
            indices: pool,
        })
    }

    /// Keeps exactly the given channels, in the given order (for example the
    /// indices a reference implementation drew).
    pub fn from_indices(layer_channels: &[usize], indices: Vec<usize>) -> Result<Self, PadimError> {
        let total = total_channels(layer_channels)?;
        if indices.is_empty() || indices.len() > total {
            return Err(PadimError::InvalidD {
                d: indices.len(),
                total,
            });
        }
        if let Some(&index) = indices.iter().find(|&&i| i >= total) {
            return Err(PadimError::ChannelOutOfRange { index, total });
        }
        // Sorting a copy rather than marking a table of `total` flags: the
        // layer sizes may come from untrusted bytes and claim 2^32 channels.
        let mut sorted = indices.clone();
        sorted.sort_unstable();
        if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(PadimError::DuplicateChannel { index: pair[0] });
        }
        Ok(Self {
            layer_channels: layer_channels.to_vec(),
            indices,
        })
    }

    /// The number of channels kept, PaDiM's `d`.
    pub fn d(&self) -> usize {
        self.indices.len()
    }

    /// The kept channels, numbered across the concatenated layers.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// The channel count of each feature layer the subset was drawn for.
    pub fn layer_channels(&self) -> &[usize] {
        &self.layer_channels
    }

    /// The channel count of the concatenated layers (448 for ResNet-18).
    pub fn total_channels(&self) -> usize {
        self.layer_channels.iter().sum()
    }

    /// Each kept channel as (layer, channel within that layer).
    pub(crate) fn sources(&self) -> Vec<(usize, usize)> {
        self.indices
            .iter()
            .map(|&index| {
                let mut rest = index;
                for (layer, &channels) in self.layer_channels.iter().enumerate() {
                    if rest < channels {
                        return (layer, rest);
                    }
                    rest -= channels;
                }
                unreachable!("indices are checked against the channel total on construction")
            })
            .collect()
    }
}

fn total_channels(layer_channels: &[usize]) -> Result<usize, PadimError> {
    if layer_channels.is_empty() {
        return Err(PadimError::NoLayers);
    }
    let mut total: u64 = 0;
    for (layer, &channels) in layer_channels.iter().enumerate() {
        if channels == 0 {
            return Err(PadimError::EmptyLayer { layer });
        }
        total = total.saturating_add(channels as u64);
    }
    if total > u64::from(u32::MAX) {
        return Err(PadimError::TooManyChannels { total });
    }
    Ok(total as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_subset_is_pinned_by_the_seed() {
        let a = ChannelSelection::random(&[64, 128, 256], 100, 1024).unwrap();
        let b = ChannelSelection::random(&[64, 128, 256], 100, 1024).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.d(), 100);
        assert!(a.indices().windows(2).all(|w| w[0] < w[1]));
        assert!(a.indices().iter().all(|&i| i < 448));
        // Pinned so that a change of generator or algorithm, which would
        // silently invalidate every stored statistics file, fails here.
        let small = ChannelSelection::random(&[3, 4, 5], 5, 7).unwrap();
        assert_eq!(small.indices(), PINNED_SEED_7);
        let other = ChannelSelection::random(&[64, 128, 256], 100, 1025).unwrap();
        assert_ne!(a, other);
    }

    const PINNED_SEED_7: &[usize] = &[2, 5, 6, 7, 9];

    #[test]
    fn sources_split_the_concatenation_by_layer() {
        let s = ChannelSelection::from_indices(&[2, 3, 4], vec![8, 0, 2, 4, 5]).unwrap();
        assert_eq!(s.sources(), vec![(2, 3), (0, 0), (1, 0), (1, 2), (2, 0)]);
    }

    #[test]
    fn full_draw_is_a_permutation_and_bad_d_is_rejected() {
        let all = ChannelSelection::random(&[3, 4], 7, 0).unwrap();
        assert_eq!(all.indices(), &[0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(
            ChannelSelection::random(&[3, 4], 8, 0),
            Err(PadimError::InvalidD { d: 8, total: 7 })
        );
        assert_eq!(
            ChannelSelection::random(&[3, 0], 1, 0),
            Err(PadimError::EmptyLayer { layer: 1 })
        );
        assert_eq!(
            ChannelSelection::random(&[], 1, 0),
            Err(PadimError::NoLayers)
        );
    }

    #[test]
    fn explicit_indices_are_checked() {
        assert_eq!(
            ChannelSelection::from_indices(&[3, 4], vec![1, 7]),
            Err(PadimError::ChannelOutOfRange { index: 7, total: 7 })
        );
        assert_eq!(
            ChannelSelection::from_indices(&[3, 4], vec![1, 2, 1]),
            Err(PadimError::DuplicateChannel { index: 1 })
        );
        assert_eq!(
            ChannelSelection::from_indices(&[3, 4], vec![]),
            Err(PadimError::InvalidD { d: 0, total: 7 })
        );
    }
}
