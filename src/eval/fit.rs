//! PaDiM fitted end to end on one class (SPEC "PaDiM"): the training normals
//! are loaded and preprocessed `batch` at a time, run through the trunk, and
//! their layer1–3 features streamed into [`PadimFitter`].

use burn::tensor::backend::Backend;

use crate::data::{Chw, Preprocess};
use crate::model::{FoldedTrunk, ResNetConfig, ResNetTrunk};
use crate::padim::{MapSize, PadimConfig, PadimStats};

use super::extract::{padim_taps, LayerTaps};
use super::{ClassImages, EvalError};

/// One backbone, PaDiM's settings and the preprocessing: fits any number of
/// classes, each into its own [`PadimStats`].
#[derive(Debug)]
pub struct PadimFit<B: Backend> {
    trunk: FoldedTrunk<B>,
    layer_channels: [usize; 3],
    config: PadimConfig,
    preprocess: Preprocess,
    device: B::Device,
}

impl<B: Backend> PadimFit<B> {
    /// `trunk` must be built from `backbone`, whose layer1–3 channel counts
    /// PaDiM's channel subset is drawn from.
    pub fn new(
        backbone: &ResNetConfig,
        trunk: ResNetTrunk<B>,
        config: PadimConfig,
        preprocess: Preprocess,
        device: B::Device,
    ) -> Result<Self, EvalError> {
        let [layer1, layer2, layer3, _] = backbone.feature_channels()?;
        Ok(Self {
            trunk: trunk.fold_batch_norm(),
            layer_channels: [layer1, layer2, layer3],
            config,
            preprocess,
            device,
        })
    }

    /// The statistics of one class from its normal training images;
    /// `progress` is told how many images each batch added.
    pub fn fit_class(
        &self,
        normals: &ClassImages,
        progress: &mut dyn FnMut(usize),
    ) -> Result<PadimStats, EvalError> {
        let size = self.preprocess.output_size() as usize;
        let mut fitter = self
            .config
            .fitter(&self.layer_channels, MapSize::new(size, size))?;
        for (_, samples) in normals.batches()? {
            let images = normals.images(samples, &self.preprocess)?;
            let images: Vec<&Chw> = images.iter().collect();
            let taps = padim_taps(&self.trunk, &images, &self.device)?;
            let maps: Vec<_> = taps.iter().map(LayerTaps::maps).collect();
            fitter.push_batch(&maps)?;
            progress(samples.len());
        }
        Ok(fitter.finish()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{PreprocessConfig, Sample, SizeLimit};
    use crate::eval::fixture;
    use crate::model::TestBackend;

    #[test]
    fn fits_as_the_fitter_fed_by_hand() {
        let (source, samples) = fixture::class(5, 0, 0);
        let normals: Vec<&Sample> = samples.iter().collect();
        // Width 1/16: layer1-3 have 4, 8 and 16 channels.
        let backbone = ResNetConfig::resnet18().with_width(1.0 / 16.0);
        let device = Default::default();
        let trunk = backbone.init_trunk::<TestBackend>(&device).unwrap();
        let config = PadimConfig::new(8).with_seed(3);
        let preprocess = PreprocessConfig::padim(32).check().unwrap();
        // Folding reads the parameters, which burn draws on first use: the
        // clone below then holds the same values.
        let folded = trunk.fold_batch_norm();
        let fit =
            PadimFit::new(&backbone, trunk.clone(), config.clone(), preprocess, device).unwrap();
        let mut done = Vec::new();
        let stats = fit
            .fit_class(&ClassImages::new(&normals, &source, 3), &mut |n| {
                done.push(n)
            })
            .unwrap();
        assert_eq!(done, [3, 2]);

        // By hand, in the same batches of 3 and 2 images.
        let mut fitter = config.fitter(&[4, 8, 16], MapSize::new(32, 32)).unwrap();
        for batch in normals.chunks(3) {
            let images: Vec<Chw> = batch
                .iter()
                .map(|s| {
                    let image = s.load_image(&source, &SizeLimit::default()).unwrap();
                    preprocess.image(&image).unwrap()
                })
                .collect();
            let images: Vec<&Chw> = images.iter().collect();
            let taps = padim_taps(&folded, &images, &device).unwrap();
            let maps: Vec<_> = taps.iter().map(LayerTaps::maps).collect();
            fitter.push_batch(&maps).unwrap();
        }
        assert_eq!(stats.to_bytes(), fitter.finish().unwrap().to_bytes());
        assert_eq!(stats.images(), 5);

        assert_eq!(
            fit.fit_class(&ClassImages::new(&normals, &source, 0), &mut |_| {})
                .unwrap_err(),
            EvalError::EmptyBatch
        );
    }
}
