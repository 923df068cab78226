//! One fitted PaDiM detector end to end (SPEC "PaDiM"): decoded image →
//! preprocessing → ResNet trunk (layer1–3) → PaDiM anomaly map and score.
//! The native CLI and the browser app share this pipeline; only the read-back
//! of the trunk's outputs differs (synchronous, or asynchronous for WebGPU).

use burn::tensor::backend::Backend;

use crate::data::{Chw, Preprocess, RgbImage};
use crate::model::{FoldedTrunk, ResNetTrunk};
use crate::padim::{MapSize, PadimStats, ScoreMap};

use super::extract::{padim_taps, padim_taps_async, LayerTaps};
use super::EvalError;

/// What the per-class pipelines ([`super::evaluate_class`],
/// [`super::score_images`]) need of a detector: PaDiM ([`Detector`]) and the
/// pixel baseline ([`super::PixelBaseline`]) alike.
pub trait MapDetector {
    /// The preprocessing of the images the detector scores.
    fn preprocess(&self) -> &Preprocess;

    /// The anomaly maps of a batch of images preprocessed by
    /// [`MapDetector::preprocess`], one per image, at the input size.
    fn anomaly_maps(&self, images: &[&Chw]) -> Result<Vec<ScoreMap>, EvalError>;
}

/// A backbone trunk, its PaDiM statistics and the preprocessing they were
/// fitted with, checked to agree on the input size.
#[derive(Debug)]
pub struct Detector<B: Backend> {
    trunk: FoldedTrunk<B>,
    stats: PadimStats,
    preprocess: Preprocess,
    device: B::Device,
}

/// One image's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The image's anomaly score: the anomaly map's maximum.
    pub score: f32,
    /// The anomaly map at the preprocessed (resized and cropped) size.
    pub map: ScoreMap,
    /// The preprocessed image that was scored, normalised, `[3, crop, crop]`;
    /// [`Preprocess::to_rgb8`] turns it back into pixels to draw the map on.
    pub input: Chw,
}

impl<B: Backend> Detector<B> {
    /// Fails when the statistics were fitted at another input size than the
    /// preprocessing's crop. A trunk of another width than the statistics'
    /// is reported by the first image, by layer and channel count.
    pub fn new(
        trunk: ResNetTrunk<B>,
        stats: PadimStats,
        preprocess: Preprocess,
        device: B::Device,
    ) -> Result<Self, EvalError> {
        let crop = preprocess.output_size() as usize;
        if stats.input() != MapSize::new(crop, crop) {
            return Err(EvalError::InputSize {
                stats: stats.input(),
                crop: preprocess.output_size(),
            });
        }
        Ok(Self {
            trunk: trunk.fold_batch_norm(),
            stats,
            preprocess,
            device,
        })
    }

    pub fn stats(&self) -> &PadimStats {
        &self.stats
    }

    pub fn preprocess(&self) -> &Preprocess {
        &self.preprocess
    }

    /// Scores one decoded RGB image (values in [0, 1], any size), reading
    /// the device synchronously (native backends).
    pub fn anomaly_map(&self, image: &RgbImage<f32>) -> Result<Detection, EvalError> {
        let input = self.preprocess.image(image)?;
        let taps = padim_taps(&self.trunk, &[&input], &self.device)?;
        self.detection(input, &taps)
    }

    /// [`Detector::anomaly_map`] reading the device back asynchronously, as
    /// WebGPU in the browser requires.
    pub async fn anomaly_map_async(&self, image: &RgbImage<f32>) -> Result<Detection, EvalError> {
        let input = self.preprocess.image(image)?;
        let taps = padim_taps_async(&self.trunk, &[&input], &self.device).await?;
        self.detection(input, &taps)
    }

    /// The anomaly maps of a batch of already preprocessed images, all of the
    /// crop size (the evaluation's path, which preprocesses masks alike).
    pub fn anomaly_maps(&self, images: &[&Chw]) -> Result<Vec<ScoreMap>, EvalError> {
        let taps = padim_taps(&self.trunk, images, &self.device)?;
        let maps: Vec<_> = taps.iter().map(LayerTaps::maps).collect();
        let layers: Vec<&[_]> = maps.iter().map(|maps| maps.as_slice()).collect();
        Ok(self.stats.anomaly_maps(&layers)?)
    }

    fn detection(&self, input: Chw, taps: &[LayerTaps]) -> Result<Detection, EvalError> {
        let [taps] = taps else {
            unreachable!("one image in, one set of taps out")
        };
        let map = self.stats.anomaly_map(&taps.maps())?;
        Ok(Detection {
            score: map.max(),
            map,
            input,
        })
    }
}

impl<B: Backend> MapDetector for Detector<B> {
    fn preprocess(&self) -> &Preprocess {
        Detector::preprocess(self)
    }

    fn anomaly_maps(&self, images: &[&Chw]) -> Result<Vec<ScoreMap>, EvalError> {
        Detector::anomaly_maps(self, images)
    }
}
