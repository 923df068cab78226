//! The augmentations of SPD pre-training (seed, supplement C; SPEC "SPD
//! pre-training"), each a pure function of an image and a seeded stream:
//!
//! - [`SmoothBlend`]: one patch of 0.5–1% of the area cut and pasted
//!   elsewhere in the same image through a Gaussian-smoothed alpha mask; the
//!   negative of SPD. Returns the mask and both rectangles with the image.
//! - [`WeakAugment`]: the weak global view of SPD's positive pair (crop of
//!   90–100% of the area, light colour jitter, light blur, flip).
//! - [`StrongAugment`]: the SimSiam / MoCo v2 (and SimCLR) view.
//!
//! Each is an unchecked `...Config` (serde, defaults or presets from the
//! papers) validated once by `check` into the type that applies it; errors
//! name the field. The single operations follow torchvision's definitions and
//! are public for tests and the browser's visualisations.
//!
//! Images are [`RgbImage<f32>`](crate::data::RgbImage) in [0, 1]; randomness
//! comes only from the [`Rng`] passed in (the crate's seeded ChaCha8
//! stream, [`crate::rng`]), so one seed and stream give the same views; keying a stream per
//! image, as the generator does, keeps views independent of batch order.
//! Unlike the generator's images, views are not promised bit-identical across
//! platforms: aspect draws and Gaussian kernels use `exp` and `ln`, whose
//! last bits may differ between math libraries. The module does no I/O and
//! builds for wasm32.

mod blur;
mod colour;
mod crop;
mod draw;
mod error;
mod flip;
mod photometric;
mod smooth_blend;
mod strong;
mod weak;

pub use crate::rng::Rng;
pub use blur::gaussian_blur;
pub use colour::{
    adjust_brightness, adjust_contrast, adjust_hue, adjust_saturation, grayscale, ColorJitter,
    ColorJitterConfig, JitterDraw,
};
pub use crop::{crop_resize, random_resized_crop, Rect};
pub use error::AugmentError;
pub use flip::hflip;
pub use smooth_blend::{AlphaMask, Blended, SmoothBlend, SmoothBlendConfig};
pub use strong::{StrongAugment, StrongAugmentConfig};
pub use weak::{WeakAugment, WeakAugmentConfig};
