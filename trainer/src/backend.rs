//! The compute backends compiled into this binary, chosen once at the edge.
//!
//! flex (burn's pure-Rust CPU backend) is always there; `wgpu` (Vulkan, Metal,
//! DirectX or WebGPU) and `cuda` come with the cargo features of those names.

use burn::tensor::{backend::Backend, Tensor, TensorData};

/// A backend this binary can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
