//! The native kernels on burn's CPU backend flex, reached by type: a call on
//! `Autodiff<Flex>` (training) or `Flex` (inference) with f32 tensors takes
//! these; any other backend or dtype gets its input back and runs burn's
//! own operations. Each training kernel is one autodiff node whose backward
//! pass is the closed form.

mod batch_norm_kernel;
mod conv_kernel;
mod matmul;
mod pool_kernel;

use core::any::Any;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::{Autodiff, Flex};
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::tensor::backend::Backend;
use burn::tensor::{Bytes, DType, Shape, Tensor, TensorPrimitive};

use self::batch_norm_kernel::{
    batch_norm_backward, batch_norm_forward, relu_backward, Epilogue, NormShape, Saved,
};
use self::conv_kernel::{conv_backward, conv_forward, ConvGeometry};
use self::pool_kernel::{
    max_pool_backward, max_pool_forward, max_pool_forward_with_indices, PoolGeometry,
};
use super::batch_norm::{After, Normalised};

/// The training backend these kernels serve.
type Trainable = Autodiff<Flex>;

/// `value` as a `U` when `T` is `U` (a move, no copy), else `value` back.
fn cast<T: 'static, U: 'static>(value: T) -> Result<U, T> {
    let mut slot = Some(value);
    match (&mut slot as &mut dyn Any).downcast_mut::<Option<U>>() {
        Some(target) => Ok(target.take().expect("the slot was just filled")),
        None => Err(slot.expect("the slot is only emptied on success")),
    }
}

/// `value` as the type it was just cast from.
///
/// # Panics
/// When `T` is not `U`: callers only convert back what [`cast`] converted.
fn same_type<T: 'static, U: 'static>(value: T) -> U {
    match cast(value) {
        Ok(same) => same,
        Err(_) => unreachable!("converted back to the type it was cast from"),
    }
}

fn values(tensor: &FlexTensor) -> &[f32] {
    tensor
        .as_slice::<f32>()
        .expect("callers pass contiguous f32 tensors")
}

fn flex_tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(values),
        Layout::contiguous(Shape::new(shape)),
        DType::F32,
    )
}

fn float<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> B::FloatTensorPrimitive {
    tensor.into_primitive().tensor()
}

fn tensor<B: Backend, const D: usize>(primitive: B::FloatTensorPrimitive) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(primitive))
}

/// A plain flex vector as a tensor of the training backend without a gradient.
fn untracked(values: Vec<f32>) -> Tensor<Trainable, 1> {
    let len = values.len();
    Tensor::from_inner(tensor::<Flex, 1>(flex_tensor(values, [len])))
}

/// Batch norm in training on `[batch, channels, plane]`, with what follows
/// it, as one node, or the input back when this is not `Autodiff<Flex>`
/// with f32 values.
pub(super) fn batch_norm_train<B: Backend>(
    norm: &BatchNorm<B>,
    input: Tensor<B, 3>,
    after: &After<B>,
) -> Result<Normalised<B>, Tensor<B, 3>> {
    let Some(norm) = (norm as &dyn Any).downcast_ref::<BatchNorm<Trainable>>() else {
        return Err(input);
    };
    let residual_fits = match after {
        After::AddRelu(residual) => residual.dtype() == DType::F32,
        After::Nothing | After::Relu => true,
    };
    if input.dtype() != DType::F32 || norm.gamma.val().dtype() != DType::F32 || !residual_fits {
        return Err(input);
    }
    let input = cast::<Tensor<B, 3>, Tensor<Trainable, 3>>(input)?;
    let after = match after {
        After::Nothing => After::Nothing,
        After::Relu => After::Relu,
        After::AddRelu(residual) => After::AddRelu(same_type(residual.clone())),
    };
    let normalised = batch_norm_node(norm, input, after);
    Ok(Normalised {
        output: same_type(normalised.output),
        mean: same_type(normalised.mean),
        variance: same_type(normalised.variance),
    })
}

/// The node of a batch norm alone or followed by a ReLU.
#[derive(Debug)]
struct BatchNormBackward;

/// The node of `relu(batch norm + residual)`: the residual is a fourth parent.
#[derive(Debug)]
struct BatchNormAddReluBackward;

#[derive(Clone, Debug)]
struct BatchNormState {
    shape: NormShape,
    input: FlexTensor,
    gamma: Vec<f32>,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    /// The output, when a ReLU ends the node (its zeros mask the gradient).
    relu_output: Option<FlexTensor>,
}

impl BatchNormState {
    /// Registers the gradients of the batch norm's input, γ and β, and,
    /// when a ReLU ends the node, returns the gradient through it (the one
    /// that reached the batch norm's output and, in a residual node, the
    /// residual).
    fn backward(
        self,
        grad_output: FlexTensor,
        [input_node, gamma_node, beta_node]: [Option<NodeId>; 3],
        grads: &mut Gradients,
    ) -> Option<Vec<f32>> {
        let grad_output = grad_output.to_contiguous();
        let through_relu = self
            .relu_output
            .as_ref()
            .map(|output| relu_backward(values(&grad_output), values(output)));
        let gradients = batch_norm_backward(
            self.shape,
            Saved {
                input: values(&self.input),
                gamma: &self.gamma,
                mean: &self.mean,
                inv_std: &self.inv_std,
            },
            through_relu.as_deref().unwrap_or(values(&grad_output)),
            input_node.is_some(),
        );
        let NormShape {
            batch,
            channels,
            plane,
        } = self.shape;
        if let (Some(node), Some(grad)) = (input_node, gradients.input) {
            grads.register::<Flex>(node, flex_tensor(grad, [batch, channels, plane]));
        }
        if let Some(node) = gamma_node {
            grads.register::<Flex>(node, flex_tensor(gradients.gamma, [channels]));
        }
        if let Some(node) = beta_node {
            grads.register::<Flex>(node, flex_tensor(gradients.beta, [channels]));
        }
        through_relu
    }
}

impl Backward<Flex, 3> for BatchNormBackward {
    type State = BatchNormState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad_output = grads.consume::<Flex>(&ops.node);
        let parents = ops.parents.map(|node| node.map(|node| node.id));
        ops.state.backward(grad_output, parents, grads);
    }
}

impl Backward<Flex, 4> for BatchNormAddReluBackward {
    type State = BatchNormState;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad_output = grads.consume::<Flex>(&ops.node);
        let [input, gamma, beta, residual] = ops.parents.map(|node| node.map(|node| node.id));
        let shape = ops.state.shape;
        let through_relu = ops.state.backward(grad_output, [input, gamma, beta], grads);
        // A residual node always ends in a ReLU, so its gradient is there.
        if let (Some(node), Some(grad)) = (residual, through_relu) {
            let dims = [shape.batch, shape.channels, shape.plane];
            grads.register::<Flex>(node, flex_tensor(grad, dims));
        }
    }
}

fn batch_norm_node(
    norm: &BatchNorm<Trainable>,
    input: Tensor<Trainable, 3>,
    after: After<Trainable>,
) -> Normalised<Trainable> {
    let [batch, channels, plane] = input.dims();
    let shape = NormShape {
        batch,
        channels,
        plane,
    };
    let input = float(input);
    let gamma = float(norm.gamma.val());
    let beta = float(norm.beta.val());
    let input_values = input.primitive.to_contiguous();
    let gamma_values = gamma.primitive.to_contiguous();
    let (relu, residual) = match after {
        After::Nothing => (false, None),
        After::Relu => (true, None),
        After::AddRelu(residual) => (true, Some(float(residual))),
    };
    let residual_values = residual
        .as_ref()
        .map(|residual| residual.primitive.to_contiguous());
    let epilogue = match (&residual_values, relu) {
        (Some(residual), _) => Epilogue::AddRelu(values(residual)),
        (None, true) => Epilogue::Relu,
        (None, false) => Epilogue::None,
    };
    let (output, stats) = batch_norm_forward(
        shape,
        values(&input_values),
        values(&gamma_values),
        values(&beta.primitive.to_contiguous()),
        norm.epsilon,
        epilogue,
    );
    let output = flex_tensor(output, [batch, channels, plane]);
    let state = BatchNormState {
        shape,
        input: input_values,
        gamma: values(&gamma_values).to_vec(),
        mean: stats.mean.clone(),
        inv_std: stats.inv_std,
        relu_output: relu.then(|| output.clone()),
    };
    let parents = [input.node.clone(), gamma.node.clone(), beta.node.clone()];
    let output = match residual {
        None => match BatchNormBackward
            .prepare::<NoCheckpointing>(parents)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(state, output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        },
        Some(residual) => {
            let [input, gamma, beta] = parents;
            match BatchNormAddReluBackward
                .prepare::<NoCheckpointing>([input, gamma, beta, residual.node.clone()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish(state, output),
                OpsKind::UnTracked(prep) => prep.finish(output),
            }
        }
    };
    Normalised {
        output: tensor(output),
        mean: untracked(stats.mean),
        variance: untracked(stats.variance),
    }
}

/// The geometry of `conv` on an input of `dims`, when these kernels cover it.
fn conv_geometry<B: Backend>(conv: &Conv2d<B>, dims: [usize; 4]) -> Option<ConvGeometry> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => [[0, 0], [0, 0]],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [[top, bottom], [left, right]],
        PaddingConfig2d::Same => return None,
    };
    let [out_channels, in_channels, kernel_h, kernel_w] = conv.weight.dims();
    let fits = conv.groups == 1
        && conv.dilation == [1, 1]
        && in_channels == dims[1]
        && [kernel_h, kernel_w] == conv.kernel_size
        && conv.weight.val().dtype() == DType::F32;
    fits.then(|| ConvGeometry::new(dims, out_channels, conv.kernel_size, conv.stride, padding))
        .flatten()
}

/// A 2-D convolution on flex: one autodiff node in training (convolutions
/// without bias), the forward kernel in inference; the input back otherwise.
pub(super) fn conv2d<B: Backend>(
    conv: &Conv2d<B>,
    input: Tensor<B, 4>,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    if input.dtype() != DType::F32 {
        return Err(input);
    }
    let Some(geometry) = conv_geometry(conv, input.dims()) else {
        return Err(input);
    };
    if let Some(conv) = (conv as &dyn Any).downcast_ref::<Conv2d<Trainable>>() {
        if conv.bias.is_some() {
            return Err(input);
        }
        let input = cast::<Tensor<B, 4>, Tensor<Trainable, 4>>(input)?;
        return Ok(same_type(conv_node(conv, geometry, input)));
    }
    if let Some(conv) = (conv as &dyn Any).downcast_ref::<Conv2d<Flex>>() {
        let input = cast::<Tensor<B, 4>, Tensor<Flex, 4>>(input)?;
        let input = float(input).to_contiguous();
        let weight = float(conv.weight.val()).to_contiguous();
        let bias = conv
            .bias
            .as_ref()
            .map(|bias| float(bias.val()).to_contiguous());
        let output = conv_forward(
            &geometry,
            values(&input),
            values(&weight),
            bias.as_ref().map(values),
        );
        let output = flex_tensor(output, output_dims(&geometry));
        return Ok(same_type(tensor::<Flex, 4>(output)));
    }
    Err(input)
}

fn output_dims(geometry: &ConvGeometry) -> [usize; 4] {
    [
        geometry.batch,
        geometry.out_channels,
        geometry.out_height,
        geometry.out_width,
    ]
}

#[derive(Debug)]
struct ConvBackward;

#[derive(Clone, Debug)]
struct ConvState {
    geometry: ConvGeometry,
    input: FlexTensor,
    weight: FlexTensor,
}

impl Backward<Flex, 2> for ConvBackward {
    type State = ConvState;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [input_node, weight_node] = ops.parents;
        let grad_output = grads.consume::<Flex>(&ops.node).to_contiguous();
        let ConvState {
            geometry,
            input,
            weight,
        } = ops.state;
        let gradients = conv_backward(
            &geometry,
            values(&input),
            values(&weight),
            values(&grad_output),
            input_node.is_some(),
        );
        if let (Some(node), Some(grad)) = (input_node, gradients.input) {
            let dims = [
                geometry.batch,
                geometry.in_channels,
                geometry.height,
                geometry.width,
            ];
            grads.register::<Flex>(node.id, flex_tensor(grad, dims));
        }
        if let Some(node) = weight_node {
            let dims = [
                geometry.out_channels,
                geometry.in_channels,
                geometry.kernel[0],
                geometry.kernel[1],
            ];
            grads.register::<Flex>(node.id, flex_tensor(gradients.weight, dims));
        }
    }
}

fn conv_node(
    conv: &Conv2d<Trainable>,
    geometry: ConvGeometry,
    input: Tensor<Trainable, 4>,
) -> Tensor<Trainable, 4> {
    let input = float(input);
    let weight = float(conv.weight.val());
    let input_values = input.primitive.to_contiguous();
    let weight_values = weight.primitive.to_contiguous();
    let output = conv_forward(
        &geometry,
        values(&input_values),
        values(&weight_values),
        None,
    );
    let output = flex_tensor(output, output_dims(&geometry));
    let output = match ConvBackward
        .prepare::<NoCheckpointing>([input.node.clone(), weight.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(
            ConvState {
                geometry,
                input: input_values,
                weight: weight_values,
            },
            output,
        ),
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    tensor(output)
}

/// The geometry of `pool` on an input of `dims`, when these kernels cover
/// it: symmetric padding, dilation 1, floor rounding, planes that `u32`
/// indices address.
fn pool_geometry(pool: &MaxPool2d, dims: [usize; 4]) -> Option<PoolGeometry> {
    let padding = match pool.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            [top, left]
        }
        PaddingConfig2d::Explicit(..) | PaddingConfig2d::Same => return None,
    };
    let fits =
        pool.dilation == [1, 1] && !pool.ceil_mode && u32::try_from(dims[2] * dims[3]).is_ok();
    fits.then(|| PoolGeometry::new(dims, pool.kernel_size, pool.stride, padding))
        .flatten()
}

/// 2-D max pooling on flex: one autodiff node in training, the separable
/// kernel in inference; the input back otherwise.
pub(super) fn max_pool2d<B: Backend>(
    pool: &MaxPool2d,
    input: Tensor<B, 4>,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    if input.dtype() != DType::F32 {
        return Err(input);
    }
    let Some(geometry) = pool_geometry(pool, input.dims()) else {
        return Err(input);
    };
    let input = match cast::<Tensor<B, 4>, Tensor<Trainable, 4>>(input) {
        Ok(input) => return Ok(same_type(max_pool_node(geometry, input))),
        Err(input) => input,
    };
    let input = float(cast::<Tensor<B, 4>, Tensor<Flex, 4>>(input)?).to_contiguous();
    let output = max_pool_forward(&geometry, values(&input));
    let output = flex_tensor(output, geometry.output_dims());
    Ok(same_type(tensor::<Flex, 4>(output)))
}

#[derive(Debug)]
struct MaxPoolBackward;

#[derive(Clone, Debug)]
struct MaxPoolState {
    geometry: PoolGeometry,
    /// Per output, the index within its input plane of the value it took.
    indices: Vec<u32>,
}

impl Backward<Flex, 1> for MaxPoolBackward {
    type State = MaxPoolState;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [input_node] = ops.parents;
        let grad_output = grads.consume::<Flex>(&ops.node).to_contiguous();
        let Some(node) = input_node else {
            return;
        };
        let g = ops.state.geometry;
        let grad = max_pool_backward(&g, &ops.state.indices, values(&grad_output));
        grads.register::<Flex>(node.id, flex_tensor(grad, g.input_dims()));
    }
}

fn max_pool_node(geometry: PoolGeometry, input: Tensor<Trainable, 4>) -> Tensor<Trainable, 4> {
    let input = float(input);
    let input_values = input.primitive.to_contiguous();
    let dims = geometry.output_dims();
    let output = match MaxPoolBackward
        .prepare::<NoCheckpointing>([input.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (output, indices) = max_pool_forward_with_indices(&geometry, values(&input_values));
            prep.finish(
                MaxPoolState { geometry, indices },
                flex_tensor(output, dims),
            )
        }
        OpsKind::UnTracked(prep) => {
            let output = max_pool_forward(&geometry, values(&input_values));
            prep.finish(flex_tensor(output, dims))
        }
    };
    tensor(output)
}
