use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::data::Chw;
use crate::model::FoldedTrunk;
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
/// taps (layer1–3) per image; batch norm uses its running statistics
/// ([`crate::model::ResNetTrunk::fold_batch_norm`]). Reads back synchronously, which
/// WebGPU in the browser does not allow: use [`padim_taps_async`] there.
///
/// # Shapes
/// - images: each `[3, h, w]`, all of one size
/// - output: one [`LayerTaps`] per image, layer `k` at `h / 2^(k+1)`
pub fn padim_taps<B: Backend>(
    model: &FoldedTrunk<B>,
    images: &[&Chw],
    device: &B::Device,
) -> Result<Vec<LayerTaps>, EvalError> {
    let Some(outputs) = forward(model, images, device)? else {
        return Ok(Vec::new());
    };
    let host = outputs.map(|(name, tensor)| {
        let dims = tensor.dims();
        to_host(
            name,
            dims,
            Ok::<_, std::convert::Infallible>(tensor.into_data()),
        )
    });
    split(images.len(), host)
}

/// [`padim_taps`] reading the device's outputs back asynchronously, the
/// only way WebGPU in the browser allows (SPEC "Facts").
pub async fn padim_taps_async<B: Backend>(
    model: &FoldedTrunk<B>,
    images: &[&Chw],
    device: &B::Device,
) -> Result<Vec<LayerTaps>, EvalError> {
    let Some(outputs) = forward(model, images, device)? else {
        return Ok(Vec::new());
    };
    let mut host = Vec::with_capacity(3);
    for (name, tensor) in outputs {
        let dims = tensor.dims();
        host.push(to_host(name, dims, tensor.into_data_async().await));
    }
    let host: [_; 3] = host
        .try_into()
        .unwrap_or_else(|_| unreachable!("three taps in, three out"));
    split(images.len(), host)
}

type HostLayer = (Vec<f32>, [usize; 3]);
/// The trunk's three outputs on the device, named for error messages.
type DeviceTaps<B> = [(&'static str, Tensor<B, 4>); 3];

/// Stacks the images into one batch and runs the trunk; `None` for no images.
fn forward<B: Backend>(
    model: &FoldedTrunk<B>,
    images: &[&Chw],
    device: &B::Device,
) -> Result<Option<DeviceTaps<B>>, EvalError> {
    let Some(first) = images.first() else {
        return Ok(None);
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
    let [layer1, layer2, layer3] = model.taps(input);
    Ok(Some([
        ("layer1", layer1),
        ("layer2", layer2),
        ("layer3", layer3),
    ]))
}

/// One layer's values on the host with its per-image shape.
fn to_host<E: std::fmt::Debug>(
    layer: &'static str,
    [_, c, h, w]: [usize; 4],
    data: Result<TensorData, E>,
) -> Result<HostLayer, EvalError> {
    let readback = |message: String| EvalError::Readback { layer, message };
    let data = data.map_err(|e| readback(format!("{e:?}")))?;
    let values = data
        .to_vec::<f32>()
        .map_err(|e| readback(format!("{e:?}")))?;
    Ok((values, [c, h, w]))
}

/// Cuts the batch's layers into one [`LayerTaps`] per image.
fn split(
    images: usize,
    host: [Result<HostLayer, EvalError>; 3],
) -> Result<Vec<LayerTaps>, EvalError> {
    let [l1, l2, l3] = host;
    let host = [l1?, l2?, l3?];
    Ok((0..images)
        .map(|i| LayerTaps {
            layers: std::array::from_fn(|k| {
                let (values, shape) = &host[k];
                let size = shape.iter().product::<usize>();
                (values[i * size..(i + 1) * size].to_vec(), *shape)
            }),
        })
        .collect())
}
