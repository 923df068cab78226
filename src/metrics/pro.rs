//! Per-region overlap (PRO) and its normalised area up to an FPR limit
//! (AU-PRO), as defined with the MVTec AD benchmark (Bergmann et al., IJCV 2021).
//!
//! Each connected component (8-connectivity) of each ground-truth mask is a
//! region. At a threshold, PRO is the mean over all regions of the fraction of
//! the region's pixels called anomalous, and the FPR is the fraction of normal
//! pixels (outside every region, in every image) called anomalous. AU-PRO is
//! the trapezoidal area under PRO(FPR) from 0 to the limit (0.3 by convention),
//! interpolating at the limit, divided by the limit. Like the other metrics it
//! is exact: one operating point per distinct score.

use serde::Serialize;

use super::bootstrap::{BootstrapError, ImageScores};
use super::curve::{Curve, CurvePoint, CurveThinner};
use super::error::MetricsError;
use super::key::{radix_sort, Score};
use super::ranking::check_map_shape;
use super::sum::CompensatedSum;

/// The customary FPR limit of AU-PRO.
pub const DEFAULT_FPR_LIMIT: f64 = 0.3;

/// Pixel scores of anomaly maps with the region each anomalous pixel belongs to.
#[derive(Debug, Clone)]
pub struct ProSet<S: Score> {
    normal: Vec<S::Key>,
    /// (score key, region index) of every pixel inside a region.
    anomalous: Vec<(S::Key, u32)>,
    region_sizes: Vec<u32>,
    /// The map (push order) each region lies in, for weighting maps.
    region_maps: Vec<u32>,
    pixels: u64,
    maps: u64,
    sorted: bool,
}

impl<S: Score> Default for ProSet<S> {
    fn default() -> Self {
        Self {
            normal: Vec::new(),
            anomalous: Vec::new(),
            region_sizes: Vec::new(),
            region_maps: Vec::new(),
            pixels: 0,
            maps: 0,
            sorted: false,
        }
    }
}

/// AU-PRO and the PRO curve up to the FPR limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProMetrics {
    /// Area under PRO(FPR) on [0, fpr_limit], divided by fpr_limit.
    pub au_pro: f64,
    pub fpr_limit: f64,
    /// Connected ground-truth regions over all maps.
    pub regions: u64,
    /// PRO (y) against FPR (x) up to the limit, thinned for plotting.
    pub curve: Curve,
}

impl<S: Score> ProSet<S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one `width`×`height` anomaly map (row-major) with its binarised
    /// ground-truth mask. On an error nothing is added.
    pub fn push_map(
        &mut self,
        scores: &[S],
        mask: &[bool],
        width: usize,
        height: usize,
    ) -> Result<(), MetricsError> {
        check_map_shape(self.maps, scores.len(), mask.len(), width, height)?;
        let mut keys = Vec::with_capacity(scores.len());
        for (offset, &score) in scores.iter().enumerate() {
            keys.push(score.to_key().ok_or(MetricsError::NonFiniteScore {
                index: self.pixels + offset as u64,
                value: score.into(),
            })?);
        }
        let (regions, sizes) = label_regions(mask, width, height);
        let first_region = self.region_sizes.len() as u32;
        self.region_maps
            .extend(std::iter::repeat_n(self.maps as u32, sizes.len()));
        self.region_sizes.extend(sizes);
        for (pixel, key) in keys.into_iter().enumerate() {
            match regions[pixel] {
                0 => self.normal.push(key),
                region => self.anomalous.push((key, first_region + region - 1)),
            }
        }
        self.pixels += scores.len() as u64;
        self.maps += 1;
        self.sorted = false;
        Ok(())
    }

    /// Sorts the pixels by score; done once before any walk.
    pub fn sort(&mut self) {
        if !self.sorted {
            radix_sort(&mut self.normal);
            self.anomalous.sort_unstable_by_key(|a| a.0);
            self.sorted = true;
        }
    }

    /// Computes AU-PRO up to `fpr_limit` (in (0, 1]).
    pub fn metrics(mut self, fpr_limit: f64) -> Result<ProMetrics, MetricsError> {
        check_fpr_limit(fpr_limit)?;
        let regions = self.region_sizes.len() as u64;
        let normal = self.normal.len() as u64;
        match (regions, normal) {
            (0, 0) => return Err(MetricsError::Empty),
            (0, negatives) => return Err(MetricsError::NoPositives { negatives }),
            (_, 0) => {
                return Err(MetricsError::NoNegatives {
                    positives: self.anomalous.len() as u64,
                })
            }
            _ => {}
        }
        self.sort();
        let mut curve = CurveThinner::new(CurvePoint { x: 0.0, y: 0.0 }, 1e-3);
        let au_pro = pro_walk(
            self.normal.iter().rev().map(|&key| (key, 1)),
            self.normal.len() as f64,
            self.anomalous
                .iter()
                .rev()
                .map(|&(key, region)| (key, 1.0 / f64::from(self.region_sizes[region as usize]))),
            regions as f64,
            fpr_limit,
            |point| curve.push(point),
        );
        Ok(ProMetrics {
            au_pro,
            fpr_limit,
            regions,
            curve: curve.finish(),
        })
    }
}

impl ProSet<f32> {
    /// AU-PRO when map `i` counts `weights[i]` times (a bootstrap resample):
    /// equal to [`ProSet::metrics`] over the maps repeated so. `pixels` holds
    /// the same maps with their masks (its normal pixels are this set's); both
    /// are sorted, and the weights give a region and a normal pixel weight.
    pub fn weighted_au_pro(
        &self,
        pixels: &ImageScores,
        weights: &[u32],
        fpr_limit: f64,
    ) -> Result<f64, BootstrapError> {
        if weights.len() as u64 != self.maps || pixels.images() as u64 != self.maps {
            return Err(BootstrapError::WeightCount {
                weights: weights.len(),
                images: self.maps as usize,
            });
        }
        debug_assert!(self.sorted, "sort before walking");
        let region_weight =
            |region: u32| f64::from(weights[self.region_maps[region as usize] as usize]);
        let regions: f64 = (0..self.region_sizes.len() as u32).map(region_weight).sum();
        let normals = pixels.descending().filter(|&(_, _, anomalous)| !anomalous);
        let (_, normal_total) = pixels.weighted_totals(weights);
        Ok(pro_walk(
            normals.map(|(key, image, _)| (key, u64::from(weights[image]))),
            normal_total as f64,
            self.anomalous.iter().rev().map(|&(key, region)| {
                (
                    key,
                    region_weight(region) / f64::from(self.region_sizes[region as usize]),
                )
            }),
            regions,
            fpr_limit,
            |_| {},
        ))
    }
}

fn check_fpr_limit(fpr_limit: f64) -> Result<(), MetricsError> {
    if fpr_limit > 0.0 && fpr_limit <= 1.0 {
        Ok(())
    } else {
        Err(MetricsError::InvalidFprLimit(fpr_limit))
    }
}

/// The AU-PRO walk: normal pixels as (key, weight) and region pixels as
/// (key, weight / region size), each from the highest score down; every
/// distinct score is one operating point, handed to `on_point` up to the
/// limit (interpolated there).
fn pro_walk<K: Ord + Copy>(
    normal: impl Iterator<Item = (K, u64)>,
    normal_total: f64,
    anomalous: impl Iterator<Item = (K, f64)>,
    regions: f64,
    fpr_limit: f64,
    mut on_point: impl FnMut(CurvePoint),
) -> f64 {
    let mut normal = normal.peekable();
    let mut anomalous = anomalous.peekable();
    let mut false_positives = 0u64;
    let mut overlap = CompensatedSum::default();
    let mut area = CompensatedSum::default();
    let mut previous = CurvePoint { x: 0.0, y: 0.0 };
    loop {
        let key = match (normal.peek(), anomalous.peek()) {
            (None, None) => break,
            (Some(&(n, _)), None) => n,
            (None, Some(&(a, _))) => a,
            (Some(&(n, _)), Some(&(a, _))) => n.max(a),
        };
        while let Some((_, weight)) = normal.next_if(|&(k, _)| k == key) {
            false_positives += weight;
        }
        while let Some((_, gain)) = anomalous.next_if(|&(k, _)| k == key) {
            overlap.add(gain);
        }
        let point = CurvePoint {
            x: false_positives as f64 / normal_total,
            y: overlap.value() / regions,
        };
        if point.x > fpr_limit {
            let fraction = (fpr_limit - previous.x) / (point.x - previous.x);
            let limit_point = CurvePoint {
                x: fpr_limit,
                y: previous.y + fraction * (point.y - previous.y),
            };
            area.add((limit_point.x - previous.x) * (limit_point.y + previous.y) / 2.0);
            on_point(limit_point);
            break;
        }
        area.add((point.x - previous.x) * (point.y + previous.y) / 2.0);
        on_point(point);
        previous = point;
    }
    area.value() / fpr_limit
}

/// Labels the 8-connected regions of a mask: 0 outside, 1..=n inside; returns
/// the labels and each region's size.
fn label_regions(mask: &[bool], width: usize, height: usize) -> (Vec<u32>, Vec<u32>) {
    let mut labels = vec![0u32; mask.len()];
    let mut sizes = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || labels[start] != 0 {
            continue;
        }
        sizes.push(0u32);
        let label = sizes.len() as u32;
        labels[start] = label;
        stack.push(start);
        while let Some(pixel) = stack.pop() {
            sizes[label as usize - 1] += 1;
            let (x, y) = (pixel % width, pixel / width);
            for ny in y.saturating_sub(1)..=(y + 1).min(height - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(width - 1) {
                    let neighbour = ny * width + nx;
                    if mask[neighbour] && labels[neighbour] == 0 {
                        labels[neighbour] = label;
                        stack.push(neighbour);
                    }
                }
            }
        }
    }
    (labels, sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_eight_connected() {
        // 1 1 0 0
        // 0 0 1 0   <- touches the first region diagonally
        // 0 0 0 0
        // 1 0 0 1
        let mask: Vec<bool> = [1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1]
            .iter()
            .map(|&v| v == 1)
            .collect();
        let (labels, sizes) = label_regions(&mask, 4, 4);
        assert_eq!(sizes, [3, 1, 1]);
        assert_eq!(labels[6], labels[0]);
        assert_ne!(labels[12], labels[15]);
    }

    #[test]
    fn hand_computed_au_pro() {
        // One 3x3 map. Regions: A = {0, 1} (top-left pair), B = {8} (corner).
        // scores:            mask:
        //  0.9 0.5 0.1        1 1 0
        //  0.2 0.3 0.4        0 0 0
        //  0.6 0.7 0.8        0 0 1
        // Normal pixels (6): 0.1 0.2 0.3 0.4 0.6 0.7.
        // Descending: 0.9 (A) -> PRO (1/2)/2 = 1/4, FPR 0
        //             0.8 (B) -> PRO (1/2+1)/2 = 3/4, FPR 0
        //             0.7 (n) -> FPR 1/6;  0.6 -> 2/6;  0.5 (A) -> PRO 1 at FPR 2/6
        // Up to FPR 0.3 the curve is flat at 3/4 from FPR 0: area 0.3 * 3/4,
        // normalised: 3/4. Up to 0.5: 3/4 * 1/3 + (1/3 .. 1/2 at PRO 1): 1/4 + 1/6.
        let scores = [0.9f32, 0.5, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8];
        let mask = [true, true, false, false, false, false, false, false, true];
        let mut set = ProSet::new();
        set.push_map(&scores, &mask, 3, 3).unwrap();
        let m = set.clone().metrics(0.3).unwrap();
        assert_eq!(m.regions, 2);
        assert!((m.au_pro - 0.75).abs() < 1e-15, "{}", m.au_pro);
        let m = set.metrics(0.5).unwrap();
        // PRO(FPR): 3/4 on [0, 1/3]; at 1/3 it jumps to 1 (0.6 is normal, then
        // 0.5 anomalous: FPR 2/6 -> PRO 1 with no FPR change); flat 1 to 1/2.
        let expected = (0.75 / 3.0 + 1.0 / 6.0) / 0.5;
        assert!(
            (m.au_pro - expected).abs() < 1e-12,
            "{} vs {expected}",
            m.au_pro
        );
    }

    #[test]
    fn weighted_au_pro_equals_repeated_maps() {
        // Two 2x2 maps: the first with one region, the second all normal.
        let maps = [
            ([0.9f32, 0.2, 0.4, 0.1], [true, false, false, false]),
            ([0.5, 0.3, 0.95, 0.05], [false, false, false, false]),
        ];
        let mut set = ProSet::new();
        let mut pixels = ImageScores::new();
        for (scores, mask) in &maps {
            set.push_map(scores, mask, 2, 2).unwrap();
            pixels.push_image(scores, mask);
        }
        set.sort();
        pixels.sort();
        for weights in [[1u32, 1], [2, 1], [1, 3]] {
            let mut repeated = ProSet::new();
            for (map, (scores, mask)) in maps.iter().enumerate() {
                for _ in 0..weights[map] {
                    repeated.push_map(scores, mask, 2, 2).unwrap();
                }
            }
            for limit in [0.3, 1.0] {
                let expected = repeated.clone().metrics(limit).unwrap().au_pro;
                let got = set.weighted_au_pro(&pixels, &weights, limit).unwrap();
                assert!(
                    (got - expected).abs() < 1e-15,
                    "{weights:?} {limit}: {got} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn rejects_bad_input() {
        let mut set = ProSet::<f32>::new();
        assert!(matches!(
            set.push_map(&[0.0; 3], &[false; 4], 2, 2),
            Err(MetricsError::ShapeMismatch {
                what: "score map",
                ..
            })
        ));
        assert!(matches!(
            set.push_map(&[0.0, f32::NAN, 0.0, 0.0], &[false; 4], 2, 2),
            Err(MetricsError::NonFiniteScore { index: 1, .. })
        ));
        set.push_map(&[0.0; 4], &[false; 4], 2, 2).unwrap();
        assert!(matches!(
            set.clone().metrics(0.3),
            Err(MetricsError::NoPositives { negatives: 4 })
        ));
        assert!(matches!(
            set.metrics(1.5),
            Err(MetricsError::InvalidFprLimit(_))
        ));
        let mut all_anomalous = ProSet::<f32>::new();
        all_anomalous.push_map(&[0.0; 4], &[true; 4], 2, 2).unwrap();
        assert!(matches!(
            all_anomalous.metrics(0.3),
            Err(MetricsError::NoNegatives { positives: 4 })
        ));
    }
}
