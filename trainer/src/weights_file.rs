//! `padim fit --weights FILE`: a weight file read as what its bytes say it
//! is (safetensors or PyTorch, whatever its name), with the backbone and
//! width taken from its tensor shapes, so the flags need not repeat what the
//! file already says and cannot contradict it by accident.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::backend::Backend;
use spotdiff::model::weights::StoredArchitecture;
use spotdiff::model::{Backbone, ResNet, ResNetConfig, WeightFormat};

/// A weights file whose format and architecture are known; its values are
/// read by [`WeightsFile::load`].
pub struct WeightsFile {
    path: PathBuf,
    format: WeightFormat,
    /// The file's bytes; a PyTorch file is read again from its path, the
    /// only way burn-store reads one.
    bytes: Vec<u8>,
    architecture: StoredArchitecture,
    /// The outputs of the file's classifier.
    classes: usize,
}

impl WeightsFile {
    /// Reads `path` and tells its format by its first bytes and its network
    /// by its tensor shapes.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read --weights {}", path.display()))?;
        let Some(format) = WeightFormat::detect(&bytes) else {
            let start: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
            anyhow::bail!(
                "--weights {} is neither safetensors nor a PyTorch file (torch.save): it starts with the bytes {}",
                path.display(),
                start.join(" ")
            );
        };
        let architecture = match format {
            WeightFormat::Safetensors => StoredArchitecture::of_safetensors(&bytes),
            WeightFormat::Pytorch => StoredArchitecture::of_pytorch(path),
        }
        .with_context(|| format!("cannot load --weights {}", path.display()))?;
        let Some(classes) = architecture.num_classes else {
            anyhow::bail!(
                "--weights {} holds a {architecture}, without layer4 and fc: give a whole network's weights, as `spotdiff pretrain` writes and torchvision publishes",
                path.display()
            );
        };
        Ok(Self {
            path: path.to_path_buf(),
            format,
            bytes,
            architecture,
            classes,
        })
    }

    /// The backbone and width to build: the file's, or those of the flags
    /// when they describe the same network. A flag that contradicts the file
    /// is one line naming the value to pass.
    pub fn resolve(
        &self,
        backbone: Option<Backbone>,
        width: Option<f64>,
    ) -> anyhow::Result<(Backbone, f64)> {
        let path = self.path.display();
        let held = &self.architecture;
        let Some(stored) = held.backbone() else {
            anyhow::bail!(
                "--weights {path} holds a {held}; spotdiff builds resnet18 and resnet50 only"
            );
        };
        if let Some(flag) = backbone.filter(|&flag| flag != stored) {
            anyhow::bail!(
                "--backbone {flag} does not fit --weights {path}, which holds a {held}: pass --backbone {stored}, or leave --backbone out"
            );
        }
        match width {
            Some(flag) if !held.trunk_is(&stored.config(flag)) => anyhow::bail!(
                "--width {flag} does not fit --weights {path}, which holds a {held}: pass --width {}, or leave --width out",
                held.width()
            ),
            Some(flag) => Ok((stored, flag)),
            None => Ok((stored, held.width())),
        }
    }

    /// The network `config` describes (backbone and width from
    /// [`WeightsFile::resolve`]) with the file's classifier and values.
    pub fn load<B: Backend>(
        self,
        config: ResNetConfig,
        device: &B::Device,
    ) -> anyhow::Result<ResNet<B>> {
        let model = config.with_num_classes(self.classes).init::<B>(device)?;
        match self.format {
            WeightFormat::Safetensors => model.load_safetensors(self.bytes),
            WeightFormat::Pytorch => model.load_pytorch(&self.path),
        }
        .with_context(|| format!("cannot load --weights {}", self.path.display()))
    }
}
