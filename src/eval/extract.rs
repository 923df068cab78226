use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::data::Chw;
use crate::model::ResNet;
use crate::padim::FeatureMap;

use super::EvalError;

/// One image's layer1, layer2 and layer3 outputs, read back to the host.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTaps {
    /// Per layer: `channels × height × width` values and that shape.
    layers: [(Vec<f32>, [usize; 3]); 3],
}

impl LayerTaps {
    /// The three maps in the order PaDiM concatenates them.
    pub fn maps(&self) -> [FeatureMap<'_>; 3] {
        self.layers
            .each_ref()
            .map(|(data, [c, h, w])| FeatureMap::new(data, *c, *h, *w))
    }
}

/// Runs a batch of preprocessed images through `model` and returns PaDiM's
/// taps (layer1–3) per image. The model runs in inference mode as given:
/// batch norm uses its running statistics.
///
/// # Shapes
/// - images: each `[3, h, w]`, all of one size
/// - output: one [`LayerTaps`] per image, layer `k` at `h / 2^(k+1)`
pub fn padim_taps<B: Backend>(
    model: &ResNet<B>,
    images: &[&Chw],
    device: &B::Device,
) -> Result<Vec<LayerTaps>, EvalError> {
    let Some(first) = images.first() else {
        return Ok(Vec::new());
    };
    let (height, width) = (first.height, first.width);
    let mut data = Vec::with_capacity(images.len() * 3 * height * width);
    for (index, image) in images.iter().enumerate() {
        if (image.height, image.width) != (height, width) {
            return Err(EvalError::MixedSizes {
                index,
                height,
                width,
                got_height: image.height,
                got_width: image.width,
            });
        }
        data.extend_from_slice(&image.data);
    }
    let input = Tensor::<B, 4>::from_data(
        TensorData::new(data, [images.len(), 3, height, width]),
        device,
    );
    let features = model.features(input);
    let layers = [
        ("layer1", features.layer1),
        ("layer2", features.layer2),
        ("layer3", features.layer3),
    ]
    .map(|(name, tensor)| {
        let [_, c, h, w] = tensor.dims();
        tensor
            .into_data()
            .to_vec::<f32>()
            .map(|values| (values, [c, h, w]))
            .map_err(|e| EvalError::Readback {
                layer: name,
                message: format!("{e:?}"),
            })
    });
    let mut host = Vec::with_capacity(3);
    for layer in layers {
        host.push(layer?);
    }
    Ok((0..images.len())
        .map(|i| LayerTaps {
            layers: std::array::from_fn(|k| {
                let (values, shape) = &host[k];
                let size = shape.iter().product::<usize>();
                (values[i * size..(i + 1) * size].to_vec(), *shape)
            }),
        })
        .collect())
}
