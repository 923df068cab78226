//! The augmentations (issue 4): SmoothBlend's statistics over many draws,
//! determinism per seed, the colour operations against values worked by hand
//! from torchvision's formulas, crop and flip geometry on hand-made images,
//! and the settings' error messages.

use spotdiff::augment::{
    adjust_brightness, adjust_contrast, adjust_hue, adjust_saturation, crop_resize, grayscale,
    hflip, AugmentError, ColorJitterConfig, JitterDraw, Rect, Rng, SmoothBlend, SmoothBlendConfig,
    StrongAugmentConfig, WeakAugmentConfig,
};
use spotdiff::data::RgbImage;

/// A noise image: every value differs, so any move of a pixel shows.
fn noise(width: u32, height: u32, seed: u64) -> RgbImage<f32> {
    let mut rng = Rng::new(seed, 0);
    RgbImage {
        width,
        height,
        pixels: (0..3 * width * height).map(|_| rng.unit()).collect(),
    }
}

fn image(width: u32, height: u32, pixels: &[f32]) -> RgbImage<f32> {
    RgbImage {
        width,
        height,
        pixels: pixels.to_vec(),
    }
}

fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
    }
}

#[test]
fn smooth_blend_statistics_over_many_draws() {
    let blend = SmoothBlend::default();
    // Square at the paper's size and the demo's, and a non-square image.
    for (width, height, draws) in [(224, 224, 2000), (64, 64, 2000), (96, 48, 1000)] {
        let source = noise(width, height, 7);
        let mut rng = Rng::new(11, u64::from(width));
        let (mut min_area, mut max_area) = (f64::MAX, 0.0f64);
        let (mut wide, mut tall) = (0, 0);
        for _ in 0..draws {
            let out = blend.apply(&source, &mut rng).unwrap();
            let (patch, target) = (out.source, out.target);
            let fraction = patch.area() as f64 / (f64::from(width) * f64::from(height));
            assert!((0.005..=0.01).contains(&fraction), "{patch:?}");
            assert!((0.3..=3.0).contains(&patch.aspect()), "{patch:?}");
            assert!(patch.fits(width, height) && target.fits(width, height));
            assert_eq!((patch.width, patch.height), (target.width, target.height));
            assert_ne!((patch.x, patch.y), (target.x, target.y));
            min_area = min_area.min(fraction);
            max_area = max_area.max(fraction);
            wide += usize::from(patch.aspect() > 1.5);
            tall += usize::from(patch.aspect() < 1.0 / 1.5);

            let alpha = &out.alpha.values;
            let peak = alpha.iter().copied().fold(0.0f32, f32::max);
            assert_eq!(peak, 1.0);
            assert!(alpha.iter().all(|a| (0.0..=1.0).contains(a)));
            let (shift_x, shift_y) = (
                i64::from(target.x) - i64::from(patch.x),
                i64::from(target.y) - i64::from(patch.y),
            );
            let mut changed = 0;
            for y in 0..height {
                for x in 0..width {
                    let i = (y * width + x) as usize;
                    let (got, was) = (
                        &out.image.pixels[3 * i..][..3],
                        &source.pixels[3 * i..][..3],
                    );
                    if got != was {
                        // The image changes only inside the mask's support.
                        assert!(alpha[i] > 0.0, "({x}, {y}) changed with alpha 0");
                        changed += 1;
                    }
                    if alpha[i] == 1.0 {
                        // Where the mask is 1 the source pixel is pasted exactly.
                        assert!(target.contains(x, y));
                        let from = ((y as i64 - shift_y) * i64::from(width) + (x as i64 - shift_x))
                            as usize;
                        assert_eq!(got, &source.pixels[3 * from..][..3]);
                    }
                    // The mask is the footprint blurred: no farther than
                    // ⌈4σ⌉ from it.
                    if alpha[i] > 0.0 {
                        let reach = (4.0 * out.sigma).ceil() as i64;
                        let (x, y) = (i64::from(x), i64::from(y));
                        let (left, top) = (i64::from(target.x), i64::from(target.y));
                        assert!(x >= left - reach && x < left + i64::from(target.width) + reach);
                        assert!(y >= top - reach && y < top + i64::from(target.height) + reach);
                    }
                }
            }
            assert!(changed >= patch.area() as usize, "{changed} pixels changed");
        }
        // The draws cover the ranges, wide and tall alike (log-uniform).
        assert!(
            min_area < 0.0055 && max_area > 0.0095,
            "{min_area} {max_area}"
        );
        let (wide, tall) = (wide as f64, tall as f64);
        assert!(wide > 0.2 * draws as f64 && tall > 0.2 * draws as f64);
        assert!(
            (wide - tall).abs() < 0.15 * draws as f64,
            "{wide} wide, {tall} tall"
        );
    }
}

#[test]
fn smooth_blend_at_224_uses_sigma_8() {
    let out = SmoothBlend::default()
        .apply(&noise(224, 224, 1), &mut Rng::new(1, 1))
        .unwrap();
    assert_eq!(out.sigma, 8.0);
}

#[test]
fn every_augmentation_is_deterministic_per_seed() {
    let source = noise(64, 48, 3);
    let blend = SmoothBlend::default();
    let weak = WeakAugmentConfig::default().check().unwrap();
    let strong = StrongAugmentConfig::simsiam(32).check().unwrap();
    let run = |seed: u64| {
        let mut rng = Rng::new(seed, 5);
        (
            blend.apply(&source, &mut rng).unwrap(),
            weak.apply(&source, &mut rng).unwrap(),
            strong.apply(&source, &mut rng).unwrap(),
        )
    };
    let (b1, w1, s1) = run(1);
    let (b2, w2, s2) = run(1);
    assert_eq!((&b1, &w1, &s1), (&b2, &w2, &s2));
    let (b3, w3, s3) = run(2);
    assert_ne!(b1.image, b3.image);
    assert_ne!(w1, w3);
    assert_ne!(s1, s3);
    assert_eq!((w1.width, w1.height), (64, 48));
    assert_eq!((s1.width, s1.height), (32, 32));
    for view in [&w1, &s1] {
        assert!(view.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
    }
}

#[test]
fn colour_operations_match_hand_values() {
    // Brightness 1.5: (0.2, 0.5, 0.8) -> (0.3, 0.75, 1.2 clamped to 1).
    let pixel = image(1, 1, &[0.2, 0.5, 0.8]);
    assert_close(
        &adjust_brightness(&pixel, 1.5).unwrap().pixels,
        &[0.3, 0.75, 1.0],
    );

    // Contrast 0.5 on black and white: grey levels 0 and
    // 0.2989 + 0.587 + 0.114 = 0.9999, mean 0.49995; each value moves
    // halfway to it: 0.249975 and 0.749975.
    let two = image(2, 1, &[0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    let a = 0.249975;
    let b = 0.749975;
    assert_close(
        &adjust_contrast(&two, 0.5).unwrap().pixels,
        &[a, a, a, b, b, b],
    );

    // Grey of (0.6, 0.4, 0.2): 0.17934 + 0.2348 + 0.0228 = 0.43694.
    let warm = image(1, 1, &[0.6, 0.4, 0.2]);
    let l = 0.43694;
    assert_close(&grayscale(&warm).unwrap().pixels, &[l, l, l]);
    // Saturation 0.5: halfway to grey; 2: away from it, clamped.
    assert_close(
        &adjust_saturation(&warm, 0.5).unwrap().pixels,
        &[0.51847, 0.41847, 0.31847],
    );
    assert_close(
        &adjust_saturation(&warm, 2.0).unwrap().pixels,
        &[2.0 * 0.6 - l, 2.0 * 0.4 - l, 0.0],
    );

    // Hue: red turned a third of the way round is green. (0.2, 0.4, 0.8)
    // has h = 11/18, s = 0.75, v = 0.8; half a turn gives h = 2/18, so
    // h·6 = 2/3 in sector 0: (v, v(1 − s(1 − f)), v(1 − s)) = (0.8, 0.6, 0.2).
    let red = image(1, 1, &[1.0, 0.0, 0.0]);
    assert_close(
        &adjust_hue(&red, 1.0 / 3.0).unwrap().pixels,
        &[0.0, 1.0, 0.0],
    );
    let blue = image(1, 1, &[0.2, 0.4, 0.8]);
    assert_close(&adjust_hue(&blue, 0.5).unwrap().pixels, &[0.8, 0.6, 0.2]);
    assert_close(&adjust_hue(&blue, -0.5).unwrap().pixels, &[0.8, 0.6, 0.2]);
    assert!(adjust_hue(&blue, 0.6).is_err());
}

#[test]
fn jitter_applies_its_factors_in_the_drawn_order() {
    // Brightness 3 clamps, so its order against desaturation matters:
    // (0.2, 0.3, 0.4) brightened is (0.6, 0.9, 1.0), grey 0.17934 + 0.5283
    // + 0.114 = 0.82164; desaturated first, grey 0.28148, tripled 0.84444.
    let pixel = image(1, 1, &[0.2, 0.3, 0.4]);
    let draw = |order| JitterDraw {
        order,
        factors: [Some(3.0), None, Some(0.0), None],
    };
    let first = draw([0, 1, 2, 3]).apply(&pixel).unwrap();
    assert_close(&first.pixels, &[0.82164; 3]);
    let second = draw([2, 3, 1, 0]).apply(&pixel).unwrap();
    assert_close(&second.pixels, &[0.84444; 3]);
}

#[test]
fn flip_and_crop_geometry_on_a_hand_made_image() {
    // 3x2 image whose red channel numbers the pixels row by row, in tenths
    // (images are in [0, 1]).
    let numbered: Vec<f32> = (0..6).flat_map(|i| [i as f32 / 10.0, 0.5, 1.0]).collect();
    let source = image(3, 2, &numbered);
    let red = |image: &RgbImage<f32>| -> Vec<u32> {
        let tenths = image.pixels.iter().step_by(3);
        tenths.map(|v| (v * 10.0).round() as u32).collect()
    };
    assert_eq!(red(&hflip(&source).unwrap()), [2, 1, 0, 5, 4, 3]);
    // The right 2x2 block, kept at its size: pixels 1, 2, 4, 5.
    let block = Rect {
        x: 1,
        y: 0,
        width: 2,
        height: 2,
    };
    let cut = crop_resize(&source, block, 2, 2).unwrap();
    assert_eq!(red(&cut), [1, 2, 4, 5]);
    // The single pixel 4 enlarged to 3x2 stays that pixel everywhere.
    let one = Rect {
        x: 1,
        y: 1,
        width: 1,
        height: 1,
    };
    assert_eq!(red(&crop_resize(&source, one, 3, 2).unwrap()), [4; 6]);
    let outside = Rect { x: 2, ..block };
    assert!(crop_resize(&source, outside, 2, 2).is_err());

    // The weak view with the whole image kept and only the flip on is the
    // flip; with the flip off, the image itself.
    let only_flip = |flip_p| {
        WeakAugmentConfig {
            crop_area: [1.0, 1.0],
            jitter_p: 0.0,
            blur_p: 0.0,
            flip_p,
            ..WeakAugmentConfig::default()
        }
        .check()
        .unwrap()
    };
    let mut rng = Rng::new(4, 4);
    assert_eq!(
        only_flip(1.0).apply(&source, &mut rng).unwrap(),
        hflip(&source).unwrap()
    );
    assert_eq!(only_flip(0.0).apply(&source, &mut rng).unwrap(), source);
}

#[test]
fn strong_views_crop_then_resize_to_the_square_size() {
    // With the crop pinned to the whole image (scale 1, the image's ratio)
    // and every photometric step off, the strong view of a 4x4 image at
    // size 4 is the image; with the flip always on, its mirror.
    let source = noise(4, 4, 2);
    let plain = |flip_p| {
        StrongAugmentConfig {
            size: 4,
            crop_scale: [1.0, 1.0],
            crop_ratio: [1.0, 1.0],
            jitter_p: 0.0,
            grayscale_p: 0.0,
            blur_p: 0.0,
            flip_p,
            ..StrongAugmentConfig::simsiam(4)
        }
        .check()
        .unwrap()
    };
    let mut rng = Rng::new(8, 0);
    assert_eq!(plain(0.0).apply(&source, &mut rng).unwrap(), source);
    assert_eq!(
        plain(1.0).apply(&source, &mut rng).unwrap(),
        hflip(&source).unwrap()
    );
    // Grayscale always on: every pixel's three values agree.
    let grey = StrongAugmentConfig {
        grayscale_p: 1.0,
        ..StrongAugmentConfig::simsiam(16)
    }
    .check()
    .unwrap()
    .apply(&noise(40, 30, 1), &mut rng)
    .unwrap();
    assert_eq!((grey.width, grey.height), (16, 16));
    assert!(grey
        .pixels
        .chunks_exact(3)
        .all(|p| p[0] == p[1] && p[1] == p[2]));
}

#[test]
fn weak_crops_keep_the_aspect_and_most_of_the_area() {
    // A horizontal ramp 0..1: a crop of scale s keeps round(100·√s) ∈
    // [95, 100] columns starting at x ≤ 5, stretched back to 100, so the
    // slope per pixel shrinks to √s ∈ [0.95, 1] and the ends stay within
    // 5 columns (0.05) of 0 and 1.
    let (width, height) = (100u32, 50u32);
    let ramp: Vec<f32> = (0..width * height)
        .flat_map(|i| {
            let v = (i % width) as f32 / (width - 1) as f32;
            [v, v, v]
        })
        .collect();
    let source = image(width, height, &ramp);
    let weak = WeakAugmentConfig {
        jitter_p: 0.0,
        blur_p: 0.0,
        flip_p: 0.0,
        ..WeakAugmentConfig::default()
    }
    .check()
    .unwrap();
    let mut rng = Rng::new(9, 0);
    for _ in 0..50 {
        let view = weak.apply(&source, &mut rng).unwrap();
        let row: Vec<f32> = view
            .pixels
            .iter()
            .step_by(3)
            .take(width as usize)
            .copied()
            .collect();
        assert!(row[0] < 0.06 && row[99] > 0.94, "{} {}", row[0], row[99]);
        let slope = (row[90] - row[10]) / 80.0 * 99.0;
        assert!((0.94..1.001).contains(&slope), "slope {slope}");
    }
}

#[test]
fn settings_errors_name_the_field() {
    let blend = |change: fn(&mut SmoothBlendConfig)| {
        let mut config = SmoothBlendConfig::default();
        change(&mut config);
        config.check().unwrap_err().to_string()
    };
    assert_eq!(
        blend(|c| c.area = [0.01, 0.005]),
        "`area` is [0.01, 0.005]: it must be an area fraction interval with 0 < low <= high <= 1 (the seed: [0.005, 0.01])"
    );
    assert!(blend(|c| c.aspect = [0.0, 3.0]).starts_with("`aspect` is [0, 3]"));
    assert!(blend(|c| c.sigma = -8.0).starts_with("`sigma` is -8"));
    assert!(blend(|c| c.reference_size = f64::NAN).starts_with("`reference_size` is NaN"));

    let weak = |change: fn(&mut WeakAugmentConfig)| {
        let mut config = WeakAugmentConfig::default();
        change(&mut config);
        config.check().unwrap_err().to_string()
    };
    assert!(weak(|c| c.crop_area = [0.9, 1.1]).starts_with("`crop_area` is [0.9, 1.1]"));
    assert!(weak(|c| c.jitter.hue = 0.7).starts_with("`jitter.hue` is 0.7"));
    assert!(weak(|c| c.jitter.contrast = -0.1).starts_with("`jitter.contrast` is -0.1"));
    assert!(weak(|c| c.jitter_p = 1.5).starts_with("`jitter_p` is 1.5: it must be a probability"));
    assert!(weak(|c| c.blur_sigma = [0.0, 0.3]).starts_with("`blur_sigma` is [0, 0.3]"));

    let strong = |change: fn(&mut StrongAugmentConfig)| {
        let mut config = StrongAugmentConfig::simsiam(224);
        change(&mut config);
        config.check().unwrap_err().to_string()
    };
    assert!(strong(|c| c.size = 0).starts_with("`size` is 0"));
    assert!(strong(|c| c.crop_ratio = [4.0 / 3.0, 0.75]).starts_with("`crop_ratio` is"));
    assert!(strong(|c| c.grayscale_p = -0.2).starts_with("`grayscale_p` is -0.2"));
    assert!(ColorJitterConfig {
        brightness: f64::INFINITY,
        contrast: 0.0,
        saturation: 0.0,
        hue: 0.0
    }
    .check()
    .unwrap_err()
    .to_string()
    .starts_with("`brightness` is inf"));
}

#[test]
fn settings_round_trip_through_json_and_bad_images_are_refused() {
    let config = WeakAugmentConfig::default();
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(
        serde_json::from_str::<WeakAugmentConfig>(&json).unwrap(),
        config
    );
    let config = SmoothBlendConfig::default();
    let json = serde_json::to_string(&config).unwrap();
    assert!(json.contains("0.005"));
    assert_eq!(
        serde_json::from_str::<SmoothBlendConfig>(&json).unwrap(),
        config
    );

    let broken = RgbImage {
        width: 4,
        height: 4,
        pixels: vec![0.5; 47],
    };
    let mut rng = Rng::new(0, 0);
    assert!(matches!(
        SmoothBlend::default().apply(&broken, &mut rng),
        Err(AugmentError::Shape { got: 47, .. })
    ));
    let weak = WeakAugmentConfig::default().check().unwrap();
    assert!(weak.apply(&broken, &mut rng).is_err());
    let strong = StrongAugmentConfig::simsiam(8).check().unwrap();
    assert!(strong.apply(&broken, &mut rng).is_err());
}
