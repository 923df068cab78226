//! Gaussian blur as torchvision's `GaussianBlur` computes it on tensors: a
//! separable kernel `exp(−x²/2σ²)` at integer offsets, normalised to sum 1,
//! over an image padded by whole-sample reflection (`c b | a b c d | c b`).
//!
//! torchvision needs a kernel size; SimSiam and MoCo v2 blur with PIL's
//! `GaussianBlur(radius=σ)` instead, whose support is not cut short. Here the
//! kernel reaches ⌈4σ⌉ pixels each side, which holds all but 6·10⁻⁵ of the
//! Gaussian's mass, so it stands for either. Reflection is repeated for
//! kernels wider than the image (torchvision refuses those).

use super::error::{check_image, check_interval, AugmentError};
use crate::data::RgbImage;

/// The unnormalised kernel `exp(−x²/2σ²)` for `x` in `−r..=r`,
/// `r = min(⌈4σ⌉, max_radius)`, in f64.
pub(crate) fn gaussian_taps(sigma: f64, max_radius: u32) -> Vec<f64> {
    let radius = (4.0 * sigma).ceil().min(f64::from(max_radius)) as i64;
    (-radius..=radius)
        .map(|x| (-0.5 * (x * x) as f64 / (sigma * sigma)).exp())
        .collect()
}

/// Checks the blur's σ range, as the view augmentations draw it.
pub(crate) fn check_blur_sigma(sigma: [f64; 2]) -> Result<(), AugmentError> {
    check_interval(
        "blur_sigma",
        sigma,
        0.0,
        true,
        1e3,
        "a σ interval in pixels with 0 < low <= high <= 1000 (the weak view: [0.1, 0.3], SimSiam: [0.1, 2])",
    )
}

/// Whole-sample reflection of index `i` into `0..n` (period `2(n − 1)`).
fn reflect(i: i64, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as i64 - 1);
    let m = i.rem_euclid(period);
    (if m < n as i64 { m } else { period - m }) as usize
}

/// Blurs with a Gaussian of standard deviation `sigma` pixels,
/// `0 < sigma <= 1000`.
pub fn gaussian_blur(image: &RgbImage<f32>, sigma: f64) -> Result<RgbImage<f32>, AugmentError> {
    check_image(image)?;
    if !(sigma.is_finite() && sigma > 0.0 && sigma <= 1000.0) {
        return Err(AugmentError::Setting {
            field: "sigma",
            value: sigma.to_string(),
            expected: "a standard deviation in (0, 1000] pixels",
        });
    }
    // σ <= 1000 keeps the kernel at most 8001 taps.
    let taps = gaussian_taps(sigma, u32::MAX);
    let total: f64 = taps.iter().sum();
    let kernel: Vec<f32> = taps.iter().map(|&t| (t / total) as f32).collect();
    let radius = (kernel.len() / 2) as i64;
    let (width, height) = (image.width as usize, image.height as usize);
    // Along rows, then along columns; each output sums the same taps.
    let mut rows = vec![0.0f32; image.pixels.len()];
    for y in 0..height {
        let line = &image.pixels[3 * y * width..3 * (y + 1) * width];
        let out = &mut rows[3 * y * width..3 * (y + 1) * width];
        for x in 0..width {
            let mut sum = [0.0f32; 3];
            for (k, &w) in kernel.iter().enumerate() {
                let source = 3 * reflect(x as i64 + k as i64 - radius, width);
                for c in 0..3 {
                    sum[c] += w * line[source + c];
                }
            }
            out[3 * x..3 * x + 3].copy_from_slice(&sum);
        }
    }
    let mut pixels = vec![0.0f32; image.pixels.len()];
    for y in 0..height {
        let out = &mut pixels[3 * y * width..3 * (y + 1) * width];
        for (k, &w) in kernel.iter().enumerate() {
            let source = reflect(y as i64 + k as i64 - radius, height);
            let line = &rows[3 * source * width..3 * (source + 1) * width];
            for (o, &v) in out.iter_mut().zip(line) {
                *o += w * v;
            }
        }
    }
    Ok(RgbImage {
        width: image.width,
        height: image.height,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflection_is_whole_sample() {
        // c b | a b c d | c b a b ...
        let got: Vec<usize> = (-3..9).map(|i| reflect(i, 4)).collect();
        assert_eq!(got, [3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2]);
        assert!((-5..5).all(|i| reflect(i, 1) == 0));
    }

    #[test]
    fn a_flat_image_stays_flat_and_an_impulse_spreads_by_the_kernel() {
        let flat = RgbImage {
            width: 5,
            height: 4,
            pixels: vec![0.25; 60],
        };
        for v in gaussian_blur(&flat, 2.0).unwrap().pixels {
            assert!((v - 0.25).abs() < 1e-6);
        }
        // σ = 0.5: r = 2, taps e^{-8}, e^{-2}, 1, e^{-2}, e^{-8}. The centre
        // of a 9x9 impulse, far from the border, keeps (1 / Σ)².
        let mut pixels = vec![0.0; 3 * 81];
        pixels[3 * 40..3 * 40 + 3].fill(1.0);
        let impulse = RgbImage {
            width: 9,
            height: 9,
            pixels,
        };
        let out = gaussian_blur(&impulse, 0.5).unwrap();
        let sum = 1.0 + 2.0 * (-2.0f64).exp() + 2.0 * (-8.0f64).exp();
        let centre = (1.0 / (sum * sum)) as f32;
        assert!((out.pixels[3 * 40] - centre).abs() < 1e-6);
        let right = ((-2.0f64).exp() / (sum * sum)) as f32;
        assert!((out.pixels[3 * 41 + 1] - right).abs() < 1e-6);
        assert!(gaussian_blur(&impulse, 0.0).is_err());
    }
}
