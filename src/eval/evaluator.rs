use serde::Serialize;

use crate::data::Mask;
use crate::metrics::paper::paper_metrics;
use crate::metrics::pro::{ProMetrics, ProSet, DEFAULT_FPR_LIMIT};
use crate::metrics::{binary_metrics, BinaryMetrics, Curve, ScoreSet};
use crate::padim::ScoreMap;

use super::uncertainty::{Bootstrap, Resampled, ResamplingData};
use super::{ClassImages, EvalError, MapDetector};
use crate::metrics::bootstrap::BootstrapError;

/// How segmentation metrics are computed; classification is always exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Protocol {
    /// Every distinct pixel score is a threshold (SPEC "Metrics").
    #[cfg_attr(feature = "clap", value(name = "exact"))]
    Exact,
    /// The paper's own 202-threshold sweep ([`crate::metrics::paper`]), so
    /// numbers compare with published ones.
    #[cfg_attr(feature = "clap", value(name = "paper"))]
    Paper,
}

impl Protocol {
    /// The name the command line and the reports use.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Exact => "exact",
            Protocol::Paper => "paper",
        }
    }
}

/// Pixel-level metrics over every pixel of every test image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segmentation {
    pub protocol: Protocol,
    pub auroc: f64,
    pub aupr: f64,
    pub max_f1: f64,
    pub roc: Curve,
    pub pr: Curve,
}

/// One detector's metrics on one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// Image scores (map maxima) against image labels.
    pub classification: BinaryMetrics,
    pub segmentation: Segmentation,
    /// AU-PRO up to a false positive rate of 0.3.
    pub pro: ProMetrics,
    /// Every test image's score, in the order pushed.
    pub image_scores: Vec<f32>,
    /// Every bootstrap resample's metrics (None when no bootstrap was asked
    /// for; an error when the class has too few images for one).
    #[serde(skip)]
    pub resampled: Option<Result<Resampled, BootstrapError>>,
}

/// Collects one class's anomaly maps and ground truths, image by image.
#[derive(Debug, Clone, Default)]
pub struct ClassEvaluator {
    images: ScoreSet<f32>,
    pixels: ScoreSet<f32>,
    pro: ProSet<f32>,
    image_scores: Vec<f32>,
    /// The class's name, the bootstrap and every pixel by image, when
    /// intervals are asked for.
    resampling: Option<(String, Bootstrap, ResamplingData)>,
}

impl ClassEvaluator {
    pub fn new() -> Self {
        Self::default()
    }

    /// An evaluator that also resamples the test images of class `class`
    /// for intervals ([`super::uncertainty`]); it keeps every pixel twice
    /// more (8 bytes each, with its image).
    pub fn with_bootstrap(class: &str, bootstrap: Bootstrap) -> Self {
        Self {
            resampling: Some((class.to_string(), bootstrap, ResamplingData::default())),
            ..Self::default()
        }
    }

    /// Adds one test image's anomaly map and its ground truth (all background
    /// for a normal image) and returns the image score, the map's maximum.
    pub fn push(&mut self, map: &ScoreMap, mask: &Mask, anomalous: bool) -> Result<f32, EvalError> {
        let (width, height) = (map.size().width, map.size().height);
        // ProSet checks the shapes first, so a bad map adds nothing anywhere.
        self.pro
            .push_map(map.values(), &mask.pixels, width, height)?;
        self.pixels
            .push_map(map.values(), &mask.pixels, width, height)?;
        let score = map.max();
        self.images.push(score, anomalous)?;
        self.image_scores.push(score);
        if let Some((_, _, data)) = &mut self.resampling {
            data.labels.push(anomalous);
            data.pixels.push_image(map.values(), &mask.pixels);
        }
        Ok(score)
    }

    /// The metrics; fails when the class lacks normal or anomalous images.
    pub fn finish(mut self, protocol: Protocol) -> Result<ClassMetrics, EvalError> {
        let resampled = self.resampling.take().map(|(class, bootstrap, data)| {
            data.resample(
                &self.image_scores,
                &mut self.pro,
                protocol,
                &class,
                bootstrap,
            )
        });
        let classification = binary_metrics(&self.images.rank()?)?;
        let pixels = self.pixels.rank()?;
        let segmentation = match protocol {
            Protocol::Exact => {
                let m = binary_metrics(&pixels)?;
                Segmentation {
                    protocol,
                    auroc: m.auroc,
                    aupr: m.aupr,
                    max_f1: m.max_f1,
                    roc: m.roc,
                    pr: m.pr,
                }
            }
            Protocol::Paper => {
                let m = paper_metrics(&pixels);
                Segmentation {
                    protocol,
                    auroc: m.auroc,
                    aupr: m.aupr,
                    max_f1: m.max_f1,
                    roc: Curve::roc(&m.points),
                    pr: Curve::precision_recall(&m.points),
                }
            }
        };
        Ok(ClassMetrics {
            classification,
            segmentation,
            pro: self.pro.metrics(DEFAULT_FPR_LIMIT)?,
            image_scores: self.image_scores,
            resampled,
        })
    }
}

/// One detector's evaluation of one class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassEvaluation {
    pub metrics: ClassMetrics,
    /// The anomaly maps of the samples the caller asked to keep, in sample
    /// order.
    pub kept_maps: Vec<ScoreMap>,
}

/// Scores a class's test images (normal and anomalous, masks beside them)
/// with `detector` into `evaluator` ([`ClassEvaluator::new`], or
/// [`ClassEvaluator::with_bootstrap`] for intervals) and its [`ClassMetrics`], keeping the anomaly maps of the
/// samples at the indices `keep` (for figures); `progress` is told how many
/// images each batch scored.
pub fn evaluate_class<D: MapDetector + ?Sized>(
    detector: &D,
    tests: &ClassImages,
    mut evaluator: ClassEvaluator,
    protocol: Protocol,
    keep: &[usize],
    progress: &mut dyn FnMut(usize),
) -> Result<ClassEvaluation, EvalError> {
    let mut kept_maps = Vec::with_capacity(keep.len());
    for (start, samples) in tests.batches()? {
        let loaded = tests.with_masks(samples, detector.preprocess())?;
        let images: Vec<_> = loaded.iter().map(|item| &item.image).collect();
        let maps = detector.anomaly_maps(&images)?;
        for (index, ((sample, item), map)) in (start..).zip(samples.iter().zip(&loaded).zip(&maps))
        {
            evaluator.push(map, &item.mask, sample.label.is_anomaly())?;
            if keep.contains(&index) {
                kept_maps.push(map.clone());
            }
        }
        progress(samples.len());
    }
    Ok(ClassEvaluation {
        metrics: evaluator.finish(protocol)?,
        kept_maps,
    })
}

/// The image scores (anomaly map maxima) of `images`, in sample order, without
/// reading masks; `progress` is told how many images each batch scored.
pub fn score_images<D: MapDetector + ?Sized>(
    detector: &D,
    images: &ClassImages,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<f32>, EvalError> {
    let mut scores = Vec::with_capacity(images.samples.len());
    for (_, samples) in images.batches()? {
        let inputs = images.images(samples, detector.preprocess())?;
        let inputs: Vec<_> = inputs.iter().collect();
        scores.extend(detector.anomaly_maps(&inputs)?.iter().map(ScoreMap::max));
        progress(samples.len());
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{PreprocessConfig, Sample, SizeLimit, Split};
    use crate::eval::{fixture, load_preprocessed, PixelBaseline, PixelBaselineFitter};
    use crate::metrics::evaluate;
    use crate::padim::MapSize;

    #[test]
    fn a_class_evaluates_as_the_evaluator_fed_by_hand() {
        let (source, samples) = fixture::class(4, 2, 3);
        let (train, tests): (Vec<&Sample>, Vec<&Sample>) =
            samples.iter().partition(|s| s.split == Split::Train);
        let preprocess = PreprocessConfig::padim(32).check().unwrap();
        let mut fitted = Vec::new();
        let baseline = PixelBaseline::fit(
            &ClassImages::new(&train, &source, 3),
            preprocess,
            &mut |n| fitted.push(n),
        )
        .unwrap();
        let mut scored = Vec::new();
        let keep = [1, 4];
        let got = evaluate_class(
            &baseline,
            &ClassImages::new(&tests, &source, 2),
            ClassEvaluator::new(),
            Protocol::Exact,
            &keep,
            &mut |n| scored.push(n),
        )
        .unwrap();
        assert_eq!((fitted, scored), (vec![3, 1], vec![2, 2, 1]));

        // By hand: the fitter and the evaluator fed image by image.
        let limit = SizeLimit::default();
        let load =
            |sample: &Sample| load_preprocessed(sample, &source, &preprocess, &limit).unwrap();
        let mut fitter = PixelBaselineFitter::new(preprocess);
        for sample in &train {
            fitter.push(&load(sample).image).unwrap();
        }
        let by_hand = fitter.finish().unwrap();
        assert_eq!(baseline, by_hand);
        let mut evaluator = ClassEvaluator::new();
        let mut kept_maps = Vec::new();
        for (index, sample) in tests.iter().enumerate() {
            let item = load(sample);
            let map = by_hand.anomaly_map(&item.image).unwrap();
            evaluator
                .push(&map, &item.mask, sample.label.is_anomaly())
                .unwrap();
            if keep.contains(&index) {
                kept_maps.push(map);
            }
        }
        let expected = ClassEvaluation {
            metrics: evaluator.finish(Protocol::Exact).unwrap(),
            kept_maps,
        };
        assert_eq!(got, expected);
        // The bright square stands out of every normal image.
        assert_eq!(got.metrics.classification.auroc, 1.0);
        let scores = score_images(
            &baseline,
            &ClassImages::new(&tests, &source, 3),
            &mut |_| {},
        );
        assert_eq!(scores.unwrap(), got.metrics.image_scores);
    }

    #[test]
    fn metrics_equal_the_engine_applied_by_hand() {
        let mut evaluator = ClassEvaluator::new();
        let maps = [
            (vec![0.1, 0.2, 0.3, 0.4], vec![false; 4], false),
            (
                vec![0.5, 0.1, 0.9, 0.2],
                vec![false, false, true, false],
                true,
            ),
            (
                vec![0.3, 0.6, 0.2, 0.1],
                vec![false, true, false, false],
                true,
            ),
        ];
        for (values, pixels, anomalous) in &maps {
            let map = ScoreMap::new(MapSize::new(2, 2), values.clone()).unwrap();
            let mask = Mask {
                width: 2,
                height: 2,
                pixels: pixels.clone(),
            };
            evaluator.push(&map, &mask, *anomalous).unwrap();
        }
        let got = evaluator.finish(Protocol::Exact).unwrap();
        assert_eq!(got.image_scores, vec![0.4, 0.9, 0.6]);
        let by_hand = evaluate(&[0.4f32, 0.9, 0.6], &[false, true, true]).unwrap();
        assert_eq!(got.classification, by_hand);
        let all: Vec<f32> = maps.iter().flat_map(|m| m.0.clone()).collect();
        let labels: Vec<bool> = maps.iter().flat_map(|m| m.1.clone()).collect();
        let pixels = evaluate(&all, &labels).unwrap();
        assert_eq!(
            (got.segmentation.auroc, got.segmentation.aupr),
            (pixels.auroc, pixels.aupr)
        );
    }

    #[test]
    fn a_class_without_anomalies_is_an_error() {
        let mut evaluator = ClassEvaluator::new();
        let map = ScoreMap::new(MapSize::new(1, 1), vec![0.5]).unwrap();
        let mask = Mask {
            width: 1,
            height: 1,
            pixels: vec![false],
        };
        evaluator.push(&map, &mask, false).unwrap();
        assert!(matches!(
            evaluator.finish(Protocol::Exact).unwrap_err(),
            EvalError::Metrics(_)
        ));
    }
}
