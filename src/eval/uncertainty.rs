//! Bootstrap intervals of a class's metrics (issue 18), through
//! [`crate::metrics::bootstrap`]: every resample's classification and
//! segmentation AU-ROC, AU-PR and max-F1 and AU-PRO, their 95% intervals, the
//! paired difference of two detectors scored on the same resamples, and the
//! mean over classes resample by resample.

use serde::Serialize;

use crate::metrics::bootstrap::{
    stream_of, BootstrapError, Estimate, ImageScores, PairedDifference, Resampling,
};
use crate::metrics::paper::paper_metrics;
use crate::metrics::pro::{ProSet, DEFAULT_FPR_LIMIT};
use crate::metrics::{Score, ScoreSet};

use super::{ClassMetrics, Protocol};

/// How many resamples, from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bootstrap {
    pub resamples: usize,
    pub seed: u64,
}

/// One value per metric the intervals cover, laid out as details.json
/// writes the point estimates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics<T> {
    pub au_pro: T,
    pub classification: TaskMetrics<T>,
    pub segmentation: TaskMetrics<T>,
}

/// The three metrics of one task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskMetrics<T> {
    pub aupr: T,
    pub auroc: T,
    pub max_f1: T,
}

impl<T> TaskMetrics<T> {
    fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> TaskMetrics<U> {
        TaskMetrics {
            aupr: f(&self.aupr),
            auroc: f(&self.auroc),
            max_f1: f(&self.max_f1),
        }
    }

    fn zip<'a, U, V>(
        &'a self,
        other: &'a TaskMetrics<U>,
        mut f: impl FnMut(&'a T, &'a U) -> V,
    ) -> TaskMetrics<V> {
        TaskMetrics {
            aupr: f(&self.aupr, &other.aupr),
            auroc: f(&self.auroc, &other.auroc),
            max_f1: f(&self.max_f1, &other.max_f1),
        }
    }
}

impl<T> Metrics<T> {
    /// Applies `f` to every metric.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> Metrics<U> {
        Metrics {
            au_pro: f(&self.au_pro),
            classification: self.classification.map(&mut f),
            segmentation: self.segmentation.map(&mut f),
        }
    }

    /// Applies `f` to every metric of `self` and `other` together.
    pub fn zip<'a, U, V>(
        &'a self,
        other: &'a Metrics<U>,
        mut f: impl FnMut(&'a T, &'a U) -> V,
    ) -> Metrics<V> {
        Metrics {
            au_pro: f(&self.au_pro, &other.au_pro),
            classification: self.classification.zip(&other.classification, &mut f),
            segmentation: self.segmentation.zip(&other.segmentation, &mut f),
        }
    }
}

impl Metrics<f64> {
    /// The point estimates of a class's metrics.
    pub fn of(metrics: &ClassMetrics) -> Self {
        let (c, s) = (&metrics.classification, &metrics.segmentation);
        Metrics {
            au_pro: metrics.pro.au_pro,
            classification: TaskMetrics {
                aupr: c.aupr,
                auroc: c.auroc,
                max_f1: c.max_f1,
            },
            segmentation: TaskMetrics {
                aupr: s.aupr,
                auroc: s.auroc,
                max_f1: s.max_f1,
            },
        }
    }
}

/// Every resample's value of each metric, in resample order.
pub type Resampled = Metrics<Vec<f64>>;

/// A detector's metrics on one class (or their mean) with every resample's
/// values: the intervals, and the pairing with another detector.
#[derive(Debug, Clone, PartialEq)]
pub struct Uncertain {
    pub point: Metrics<f64>,
    pub resampled: Resampled,
}

impl Uncertain {
    /// The 95% interval of each metric.
    pub fn intervals(&self) -> Metrics<Estimate> {
        self.point.zip(&self.resampled, |&value, values| {
            Estimate::new(value, values)
        })
    }

    /// This detector minus `baseline`, resample by resample: both must come
    /// from the same resamples of the same images.
    pub fn minus(&self, baseline: &Uncertain) -> Metrics<PairedDifference> {
        let values = self.point.zip(&self.resampled, |&v, r| (v, r));
        let baseline = baseline.point.zip(&baseline.resampled, |&v, r| (v, r));
        values.zip(&baseline, |&(value, resampled), &(base, base_resampled)| {
            PairedDifference::new(value, resampled, base, base_resampled)
        })
    }

    /// The unweighted mean over classes (as the tables' mean row), with the
    /// mean of each resample: the classes' resamples are independent, so
    /// resample b of the mean is the mean of every class's resample b.
    pub fn mean(classes: &[&Uncertain]) -> Option<Uncertain> {
        let first = classes.first()?;
        let count = classes.len() as f64;
        let mut point = first.point.clone();
        let mut resampled = first.resampled.clone();
        for class in &classes[1..] {
            point = point.zip(&class.point, |a, b| a + b);
            resampled = resampled.zip(&class.resampled, |a, b| {
                a.iter().zip(b).map(|(x, y)| x + y).collect()
            });
        }
        Some(Uncertain {
            point: point.map(|v| v / count),
            resampled: resampled.map(|v| v.iter().map(|x| x / count).collect()),
        })
    }
}

/// What a class's test images and maps need for resampling: the image
/// scores and every pixel, each tagged with its image.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResamplingData {
    pub(crate) labels: Vec<bool>,
    pub(crate) pixels: ImageScores,
}

impl ResamplingData {
    /// Every resample's metrics of the class `class` whose point estimates
    /// were computed from the same images; `pro` holds the same maps.
    pub(crate) fn resample(
        mut self,
        image_scores: &[f32],
        pro: &mut ProSet<f32>,
        protocol: Protocol,
        class: &str,
        bootstrap: Bootstrap,
    ) -> Result<Resampled, BootstrapError> {
        let resampling = Resampling::draw(
            &self.labels,
            bootstrap.resamples,
            bootstrap.seed,
            stream_of(class),
        )?;
        let mut images = ImageScores::new();
        for (&score, &label) in image_scores.iter().zip(&self.labels) {
            images.push_image(&[score], &[label]);
        }
        images.sort();
        self.pixels.sort();
        pro.sort();
        let one = |resample: usize| -> Result<[f64; 7], BootstrapError> {
            let weights = resampling.weights(resample);
            let c = images.weighted_metrics(weights)?;
            let s = match protocol {
                Protocol::Exact => {
                    let s = self.pixels.weighted_metrics(weights)?;
                    [s.aupr, s.auroc, s.max_f1]
                }
                Protocol::Paper => paper_sweep(&self.pixels, weights),
            };
            let au_pro = pro.weighted_au_pro(&self.pixels, weights, DEFAULT_FPR_LIMIT)?;
            Ok([au_pro, c.aupr, c.auroc, c.max_f1, s[0], s[1], s[2]])
        };
        let rows = each_resample(resampling.resamples(), one)?;
        let column = |i: usize| rows.iter().map(|row| row[i]).collect::<Vec<f64>>();
        Ok(Metrics {
            au_pro: column(0),
            classification: TaskMetrics {
                aupr: column(1),
                auroc: column(2),
                max_f1: column(3),
            },
            segmentation: TaskMetrics {
                aupr: column(4),
                auroc: column(5),
                max_f1: column(6),
            },
        })
    }
}

/// `one` for every resample, in order: natively on rayon's pool (the
/// resamples are independent), on one thread in the browser.
fn each_resample<T: Send>(
    resamples: usize,
    one: impl Fn(usize) -> Result<T, BootstrapError> + Send + Sync,
) -> Result<Vec<T>, BootstrapError> {
    #[cfg(not(target_family = "wasm"))]
    {
        use rayon::prelude::*;
        (0..resamples).into_par_iter().map(one).collect()
    }
    #[cfg(target_family = "wasm")]
    {
        (0..resamples).map(one).collect()
    }
}

/// The paper's 202-threshold sweep (AU-PR, AU-ROC, max-F1) over the pixels
/// repeated as often as their images are drawn: its thresholds are
/// percentiles of the resampled pixels, so the resample is built whole.
fn paper_sweep(pixels: &ImageScores, weights: &[u32]) -> [f64; 3] {
    let mut set = ScoreSet::<f32>::new();
    for (key, image, anomalous) in pixels.descending() {
        for _ in 0..weights[image] {
            set.push(f32::from_key(key), anomalous)
                .expect("the scores were checked finite when pushed");
        }
    }
    let ranking = set
        .rank()
        .expect("a stratified resample has normal and anomalous images");
    let m = paper_metrics(&ranking);
    [m.aupr, m.auroc, m.max_f1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Mask;
    use crate::eval::ClassEvaluator;
    use crate::padim::{MapSize, ScoreMap};

    /// Image `image`'s 2x2 map and mask: one defect pixel when anomalous.
    fn map_of(image: usize, is_anomalous: bool) -> (Vec<f32>, Mask) {
        let base = (image * 7 % 11) as f32 / 11.0;
        let defect = if is_anomalous { 0.6 + base } else { 0.1 };
        let mask = Mask {
            width: 2,
            height: 2,
            pixels: vec![false, false, false, is_anomalous],
        };
        (vec![base, base * 0.5, 0.2, defect], mask)
    }

    /// A class of `normal` + `anomalous` 2x2 maps whose scores are
    /// `transform` of [`map_of`]'s.
    fn class(
        normal: usize,
        anomalous: usize,
        transform: impl Fn(f32) -> f32,
        bootstrap: Option<Bootstrap>,
    ) -> ClassMetrics {
        let mut evaluator = match bootstrap {
            Some(b) => ClassEvaluator::with_bootstrap("bottle", b),
            None => ClassEvaluator::new(),
        };
        for image in 0..normal + anomalous {
            let is_anomalous = image >= normal;
            let (values, mask) = map_of(image, is_anomalous);
            let values = values.into_iter().map(&transform).collect();
            let map = ScoreMap::new(MapSize::new(2, 2), values).unwrap();
            evaluator.push(&map, &mask, is_anomalous).unwrap();
        }
        evaluator.finish(Protocol::Exact).unwrap()
    }

    const BOOTSTRAP: Bootstrap = Bootstrap {
        resamples: 200,
        seed: 3,
    };

    fn uncertain(metrics: ClassMetrics) -> Uncertain {
        Uncertain {
            point: Metrics::of(&metrics),
            resampled: metrics.resampled.unwrap().unwrap(),
        }
    }

    #[test]
    fn a_paired_difference_uses_the_same_resamples_for_both_detectors() {
        // A strictly increasing transform of every score leaves every ranking
        // metric unchanged on every resample; only if both detectors are
        // scored on the same resamples is every difference exactly zero.
        let first = uncertain(class(8, 6, |v| v, Some(BOOTSTRAP)));
        let second = uncertain(class(8, 6, |v| 3.0 * v + 1.0, Some(BOOTSTRAP)));
        let spread = first.intervals().classification.auroc.ci95;
        assert!(spread[1] > spread[0], "resamples differ: {spread:?}");
        let difference = second.minus(&first);
        for paired in [
            difference.classification.auroc,
            difference.classification.aupr,
            difference.segmentation.auroc,
            difference.au_pro,
        ] {
            assert_eq!(paired.difference.ci95, [0.0, 0.0]);
            assert_eq!(paired.share_positive, 0.0);
        }
    }

    #[test]
    fn resampled_values_equal_the_evaluator_on_the_drawn_images() {
        let metrics = class(
            6,
            5,
            |v| v,
            Some(Bootstrap {
                resamples: 3,
                seed: 9,
            }),
        );
        let resampled = metrics.resampled.clone().unwrap().unwrap();
        let labels: Vec<bool> = (0..11).map(|i| i >= 6).collect();
        let resampling = Resampling::draw(&labels, 3, 9, stream_of("bottle")).unwrap();
        for resample in 0..3 {
            // The images drawn, evaluated from scratch as a class of their own.
            let mut evaluator = ClassEvaluator::new();
            for (image, &count) in resampling.weights(resample).iter().enumerate() {
                let (values, mask) = map_of(image, labels[image]);
                let map = ScoreMap::new(MapSize::new(2, 2), values).unwrap();
                for _ in 0..count {
                    evaluator.push(&map, &mask, labels[image]).unwrap();
                }
            }
            let expected = Metrics::of(&evaluator.finish(Protocol::Exact).unwrap());
            let got = resampled.map(|values| values[resample]);
            let close = expected.zip(&got, |a, b| (a - b).abs() < 1e-12);
            assert_eq!(
                close,
                Metrics {
                    au_pro: true,
                    classification: TaskMetrics {
                        aupr: true,
                        auroc: true,
                        max_f1: true
                    },
                    segmentation: TaskMetrics {
                        aupr: true,
                        auroc: true,
                        max_f1: true
                    },
                },
                "resample {resample}: {got:?} vs {expected:?}"
            );
        }
    }

    #[test]
    fn a_class_with_too_few_images_says_so() {
        let metrics = class(8, 3, |v| v, Some(BOOTSTRAP));
        assert_eq!(
            metrics.resampled.unwrap().unwrap_err().to_string(),
            "too few test images for a bootstrap interval: 8 normal and 3 anomalous, at least 5 of each are needed"
        );
        assert!(class(8, 3, |v| v, None).resampled.is_none());
    }

    #[test]
    fn the_mean_is_taken_resample_by_resample() {
        let a = uncertain(class(6, 5, |v| v, Some(BOOTSTRAP)));
        let b = uncertain(class(7, 5, |v| v, Some(BOOTSTRAP)));
        let mean = Uncertain::mean(&[&a, &b]).unwrap();
        for resample in [0, 17, 199] {
            let expected = (a.resampled.classification.auroc[resample]
                + b.resampled.classification.auroc[resample])
                / 2.0;
            assert_eq!(mean.resampled.classification.auroc[resample], expected);
        }
        assert_eq!(mean.point.au_pro, (a.point.au_pro + b.point.au_pro) / 2.0);
    }
}
