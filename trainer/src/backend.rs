//! The compute backends compiled into this binary, chosen once at the edge.
//!
//! flex (burn's pure-Rust CPU backend) is always there; `wgpu` (Vulkan, Metal,
//! DirectX or WebGPU) and `cuda` come with the cargo features of those names.

use burn::tensor::{backend::Backend, Tensor, TensorData};
use clap::builder::PossibleValue;
use serde::{Deserialize, Serialize};

/// A backend this binary can run on: only the compiled ones exist, so a
/// `--backend` naming another is refused by the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Flex,
    #[cfg(feature = "wgpu")]
    Wgpu,
    #[cfg(feature = "cuda")]
    Cuda,
}

impl BackendKind {
    pub const COMPILED: &'static [BackendKind] = &[
        BackendKind::Flex,
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu,
        #[cfg(feature = "cuda")]
        BackendKind::Cuda,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => "wgpu",
            #[cfg(feature = "cuda")]
            BackendKind::Cuda => "cuda",
        }
    }

    fn description(self) -> &'static str {
        match self {
            BackendKind::Flex => "burn's pure-Rust CPU backend",
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => "GPUs through Vulkan, Metal or DirectX",
            #[cfg(feature = "cuda")]
            BackendKind::Cuda => "NVIDIA GPUs through CUDA",
        }
    }

    /// Multiplies two seeded `size`×`size` matrices on this backend's default
    /// device and returns the largest absolute difference from the same
    /// product computed in `f64` on the host.
    pub fn matmul_error(self, size: usize) -> f64 {
        match self {
            BackendKind::Flex => matmul_error::<burn::backend::Flex>(size),
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => matmul_error::<burn::backend::Wgpu>(size),
            #[cfg(feature = "cuda")]
            BackendKind::Cuda => matmul_error::<burn::backend::Cuda>(size),
        }
    }
}

// By hand rather than derived: clap's derive lists every variant without
// their `cfg` attributes, which does not compile without the features.
impl clap::ValueEnum for BackendKind {
    fn value_variants<'a>() -> &'a [Self] {
        Self::COMPILED
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()).help(self.description()))
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn matmul_error<B: Backend>(size: usize) -> f64 {
    let device = B::Device::default();
    // Small integers keep every product and sum exact in f32.
    let a: Vec<f32> = (0..size * size)
        .map(|i| ((i * 7 + 3) % 11) as f32 - 5.0)
        .collect();
    let b: Vec<f32> = (0..size * size)
        .map(|i| ((i * 5 + 1) % 13) as f32 - 6.0)
        .collect();
    let lhs = Tensor::<B, 2>::from_data(TensorData::new(a.clone(), [size, size]), &device);
    let rhs = Tensor::<B, 2>::from_data(TensorData::new(b.clone(), [size, size]), &device);
    let product: Vec<f32> = lhs
        .matmul(rhs)
        .into_data()
        .to_vec()
        .expect("a float tensor reads back as f32");
    let mut worst = 0.0f64;
    for row in 0..size {
        for column in 0..size {
            let expected: f64 = (0..size)
                .map(|k| f64::from(a[row * size + k]) * f64::from(b[k * size + column]))
                .sum();
            worst = worst.max((f64::from(product[row * size + column]) - expected).abs());
        }
    }
    worst
}
