use core::fmt;

use thiserror::Error;

/// Why a ResNet configuration cannot be built.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ModelError {
    #[error("width {0} is outside (0, 16]: use 1.0 for torchvision's widths, 0.25 for a small CPU model")]
    InvalidWidth(f64),
    #[error(
        "width {width} leaves no channels (64 * width rounds to 0): use a width of at least 1/128"
    )]
    WidthTooSmall { width: f64 },
    #[error(
        "layer{stage} has no blocks: every stage needs at least one (ResNet-18 has [2, 2, 2, 2])"
    )]
    EmptyStage { stage: usize },
    #[error("num_classes is 0: the classifier needs at least one class (torchvision: 1000)")]
    NoClasses,
}

/// A weight file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// Hugging Face safetensors.
    Safetensors,
    /// PyTorch pickle (`torch.save`, `.pth` / `.pt`).
    Pytorch,
}

impl fmt::Display for WeightFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WeightFormat::Safetensors => "safetensors",
            WeightFormat::Pytorch => "PyTorch",
        })
    }
}

/// One tensor that does not fit the model; names are torchvision's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TensorProblem {
    #[error("`{tensor}` is missing from the file")]
    Missing { tensor: String },
    #[error("`{tensor}` is in the file but not in the model")]
    Unexpected { tensor: String },
    #[error("`{tensor}` has shape {found:?} in the file, the model expects {expected:?}")]
    Shape {
        tensor: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("`{tensor}` is {found} in the file, the model expects {expected}: convert the file to float32")]
    DType {
        tensor: String,
        expected: String,
        found: String,
    },
    #[error("`{tensor}` could not be read: {message}")]
    Unreadable { tensor: String, message: String },
}

/// Why weights could not be imported or exported.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum WeightsError {
    #[error("cannot read the {format} weights: {message}")]
    Read {
        format: WeightFormat,
        message: String,
    },
    #[error(
        "the {format} weights do not fit this model ({} problems; check backbone and width):\n{}",
        problems.len(),
        list(problems)
    )]
    Mismatch {
        format: WeightFormat,
        problems: Vec<TensorProblem>,
    },
    #[error("cannot write safetensors: {0}")]
    Write(String),
}

/// One problem per line, indented under the summary.
fn list(problems: &[TensorProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}
