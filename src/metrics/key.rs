//! Order-preserving integer keys for floating-point scores, and the LSD radix
//! sort that makes exact metrics on 10^8 pixel scores fast.

/// A score type (`f32` or `f64`) whose finite values map to unsigned integer
/// keys in the same order, so that sorting keys sorts scores.
pub trait Score: Copy + Into<f64> + 'static {
    /// The key type: as wide as the score, so no two scores share a key
    /// unless they compare equal.
    type Key: RadixKey;

    /// The key of this score, or `None` when it is NaN or infinite.
    /// `-0.0` and `0.0` compare equal and get the same key.
    fn to_key(self) -> Option<Self::Key>;

    /// The score a key was made from.
    fn from_key(key: Self::Key) -> Self;
}

macro_rules! float_score {
    ($float:ty, $key:ty) => {
        impl Score for $float {
            type Key = $key;

            fn to_key(self) -> Option<$key> {
                if !self.is_finite() {
                    return None;
                }
                const SIGN: $key = 1 << (<$key>::BITS - 1);
                // Adding +0.0 turns -0.0 into +0.0, so equal scores tie.
                let bits = (self + 0.0).to_bits();
                Some(if bits & SIGN != 0 { !bits } else { bits | SIGN })
            }

            fn from_key(key: $key) -> $float {
                const SIGN: $key = 1 << (<$key>::BITS - 1);
                let bits = if key & SIGN != 0 { key & !SIGN } else { !key };
                <$float>::from_bits(bits)
            }
        }
    };
}

float_score!(f32, u32);
float_score!(f64, u64);

/// Bits sorted per radix pass: 2^11 counters fit in the L1 cache.
const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;
/// Below this length a comparison sort is faster than counting passes.
const RADIX_THRESHOLD: usize = 512;

/// An unsigned integer key that [`radix_sort`] can sort.
pub trait RadixKey: Copy + Ord + Default + Send + Sync + 'static {
    const BITS: u32;
    /// The `DIGIT_BITS`-wide digit starting at bit `shift`.
    fn digit(self, shift: u32) -> usize;
}

impl RadixKey for u32 {
    const BITS: u32 = 32;
    fn digit(self, shift: u32) -> usize {
        ((self >> shift) as usize) & (BUCKETS - 1)
    }
}

impl RadixKey for u64 {
    const BITS: u32 = 64;
    fn digit(self, shift: u32) -> usize {
        ((self >> shift) as usize) & (BUCKETS - 1)
    }
}

/// Sorts `keys` ascending with a least-significant-digit radix sort: one
/// counting pass for all digits, then one scatter pass per digit that is not
/// the same for every key. Needs one scratch buffer as long as `keys`.
pub fn radix_sort<K: RadixKey>(keys: &mut Vec<K>) {
    let len = keys.len();
    if len < RADIX_THRESHOLD {
        keys.sort_unstable();
        return;
    }
    let passes = K::BITS.div_ceil(DIGIT_BITS) as usize;
    let mut histograms = vec![[0usize; BUCKETS]; passes];
    for &key in keys.iter() {
        for (pass, histogram) in histograms.iter_mut().enumerate() {
            histogram[key.digit(pass as u32 * DIGIT_BITS)] += 1;
        }
    }
    let mut scratch: Vec<K> = Vec::new();
    let mut data_in_keys = true;
    for (pass, histogram) in histograms.iter().enumerate() {
        if histogram.contains(&len) {
            continue; // every key has the same digit here: the pass would not move anything
        }
        if scratch.is_empty() {
            scratch = vec![K::default(); len];
        }
        let mut offsets = [0usize; BUCKETS];
        let mut running = 0;
        for (offset, &count) in offsets.iter_mut().zip(histogram.iter()) {
            *offset = running;
            running += count;
        }
        let shift = pass as u32 * DIGIT_BITS;
        let (source, target) = if data_in_keys {
            (&keys[..], &mut scratch[..])
        } else {
            (&scratch[..], &mut keys[..])
        };
        for &key in source {
            let digit = key.digit(shift);
            target[offsets[digit]] = key;
            offsets[digit] += 1;
        }
        data_in_keys = !data_in_keys;
    }
    if !data_in_keys {
        std::mem::swap(keys, &mut scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_keys_preserve_order_and_round_trip() {
        let values = [
            f32::MIN,
            -1e30,
            -1.5,
            -f32::MIN_POSITIVE,
            -1e-45,
            0.0,
            1e-45,
            f32::MIN_POSITIVE,
            0.25,
            1.0,
            3e38,
            f32::MAX,
        ];
        let keys: Vec<u32> = values.iter().map(|v| v.to_key().unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        for (&value, &key) in values.iter().zip(&keys) {
            assert_eq!(f32::from_key(key).to_bits(), value.to_bits());
        }
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        assert_eq!((-0.0f32).to_key(), 0.0f32.to_key());
        assert_eq!((-0.0f64).to_key(), 0.0f64.to_key());
    }

    #[test]
    fn non_finite_scores_have_no_key() {
        for value in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            assert_eq!(value.to_key(), None);
        }
        assert_eq!(f64::NAN.to_key(), None);
    }

    #[test]
    fn f64_keys_preserve_order() {
        let values = [-2.0f64, -1e-300, 0.0, 1e-300, 0.1, 0.1 + 1e-17, 7.0];
        let keys: Vec<u64> = values.iter().map(|v| v.to_key().unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]));
        assert!(keys[0] < keys[1] && keys[5] < keys[6]);
    }

    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn radix_sort_matches_comparison_sort() {
        let mut state = 7;
        for len in [0, 1, 511, 512, 513, 5_000, 70_000] {
            let mut narrow: Vec<u32> = (0..len).map(|_| splitmix(&mut state) as u32).collect();
            let mut wide: Vec<u64> = (0..len).map(|_| splitmix(&mut state)).collect();
            // Heavy ties and a constant high half exercise the skipped passes.
            let mut tied: Vec<u32> = (0..len)
                .map(|_| (splitmix(&mut state) % 7) as u32)
                .collect();
            for keys in [&mut narrow, &mut tied] {
                let mut expected = keys.clone();
                expected.sort_unstable();
                radix_sort(keys);
                assert_eq!(*keys, expected);
            }
            let mut expected = wide.clone();
            expected.sort_unstable();
            radix_sort(&mut wide);
            assert_eq!(wide, expected);
        }
    }
}
