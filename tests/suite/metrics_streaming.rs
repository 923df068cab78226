//! Streaming image by image gives exactly what one call on all scores gives.

use spotdiff::metrics::pro::ProSet;
use spotdiff::metrics::{binary_metrics, evaluate, ScoreSet};

/// A deterministic pseudo-random stream (SplitMix64).
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[test]
fn pixel_maps_streamed_one_by_one_equal_one_batch() {
    let (width, height, maps) = (33, 21, 12);
    let mut stream = Stream(3);
    let mut scores = Vec::new();
    let mut mask = Vec::new();
    for _ in 0..width * height * maps {
        let level = (stream.next() % 50) as f32 / 7.0;
        scores.push(level);
        mask.push(stream.next() % 100 < 2 + (level * 4.0) as u64);
    }
    let batch = evaluate(&scores, &mask).unwrap();
    let mut streamed = ScoreSet::new();
    let mut pro = ProSet::new();
    for (map, map_mask) in scores
        .chunks(width * height)
        .zip(mask.chunks(width * height))
    {
        streamed.push_map(map, map_mask, width, height).unwrap();
        pro.push_map(map, map_mask, width, height).unwrap();
    }
    assert_eq!(binary_metrics(&streamed.rank().unwrap()).unwrap(), batch);
    let au_pro = pro.metrics(0.3).unwrap().au_pro;
    assert!((0.0..=1.0).contains(&au_pro));
}

#[test]
fn large_sets_with_radix_sorting_agree_with_a_quadratic_reference() {
    // AU-ROC is the probability that a random anomaly outscores a random
    // normal sample, ties counting one half: checked pair by pair.
    let mut stream = Stream(11);
    let scores: Vec<f32> = (0..3000)
        .map(|_| (stream.next() % 97) as f32 * 0.25 - 3.0)
        .collect();
    let labels: Vec<bool> = scores
        .iter()
        .map(|&s| stream.next() % 40 < (s + 4.0) as u64)
        .collect();
    let m = evaluate(&scores, &labels).unwrap();
    let (mut wins, mut pairs) = (0.0f64, 0.0f64);
    for (i, &si) in scores.iter().enumerate().filter(|&(i, _)| labels[i]) {
        let _ = i;
        for (_, &sj) in scores.iter().enumerate().filter(|&(j, _)| !labels[j]) {
            pairs += 1.0;
            wins += if si > sj {
                1.0
            } else if si == sj {
                0.5
            } else {
                0.0
            };
        }
    }
    assert!(
        (m.auroc - wins / pairs).abs() < 1e-12,
        "{} vs {}",
        m.auroc,
        wins / pairs
    );
}
