//! PaDiM's core against an independent NumPy / SciPy implementation of the
//! reference math (NumPy 2.4.6, SciPy 1.17.1, Python 3.11.7;
//! tests/fixtures/make_padim_fixtures.py wrote the fixture), streaming vs
//! two-pass fits, the binary format and the error messages.

use serde::Deserialize;
use spotdiff::padim::{
    resize_bilinear, ChannelSelection, FeatureMap, GaussianFilter, MapSize, PadimError,
    PadimFitter, PadimStats, ScoreMap, PADIM_REGULARISER, PADIM_SIGMA,
};

/// f32 statistics and maps against f64 references.
const TOLERANCE: f64 = 1e-4;

#[derive(Deserialize)]
struct Fixture {
    layer_channels: Vec<usize>,
    grids: Vec<[usize; 2]>,
    input: [usize; 2],
    indices: Vec<usize>,
    regulariser: f64,
    train: Vec<Vec<Vec<f32>>>,
    mean: Vec<f64>,
    covariance: Vec<f64>,
    inverse_covariance: Vec<f64>,
    test: Vec<TestImage>,
    smoothing: Smoothing,
}

#[derive(Deserialize)]
struct TestImage {
    layers: Vec<Vec<f32>>,
    embedding: Vec<f32>,
    distances: Vec<f64>,
    upsampled: Vec<f64>,
    anomaly_map: Vec<f64>,
    image_score: f64,
}

#[derive(Deserialize)]
struct Smoothing {
    size: [usize; 2],
    input: Vec<f32>,
    output: Vec<f64>,
}

fn fixture() -> Fixture {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/padim_reference.json"
    );
    let text = std::fs::read_to_string(path).expect("the committed fixture is readable");
    serde_json::from_str(&text).expect("the committed fixture parses")
}

impl Fixture {
    fn maps<'a>(&self, layers: &'a [Vec<f32>]) -> Vec<FeatureMap<'a>> {
        layers
            .iter()
            .zip(&self.layer_channels)
            .zip(&self.grids)
            .map(|((data, &c), &[h, w])| FeatureMap::new(data, c, h, w))
            .collect()
    }

    fn selection(&self) -> ChannelSelection {
        ChannelSelection::from_indices(&self.layer_channels, self.indices.clone()).unwrap()
    }

    fn input(&self) -> MapSize {
        MapSize::new(self.input[0], self.input[1])
    }

    fn fit(&self) -> PadimStats {
        let mut fitter =
            PadimFitter::new(self.selection(), self.input(), self.regulariser).unwrap();
        for image in &self.train {
            fitter.push(&self.maps(image)).unwrap();
        }
        fitter.finish().unwrap()
    }
}

/// Every `got[i]` within `TOLERANCE` of `expected[i]`, relative to the
/// largest magnitude in `expected`, so that near-zero entries of a matrix or
/// map are judged on the scale of the whole.
fn assert_close(what: &str, got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= TOLERANCE * scale,
            "{what}[{i}]: expected {e}, got {g} (scale {scale})"
        );
    }
}

fn widen(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

#[test]
fn statistics_match_numpy() {
    let f = fixture();
    let stats = f.fit();
    let d = f.indices.len();
    assert_eq!(stats.d(), d);
    assert_eq!(stats.grid(), MapSize::new(8, 6));
    assert_eq!(stats.images(), 6);
    assert_close("mean", &widen(stats.means()), &f.mean);
    for p in 0..48 {
        let expected = &f.covariance[p * d * d..][..d * d];
        assert_close(
            &format!("covariance {p}"),
            &stats.covariance(p).unwrap(),
            expected,
        );
        let expected = &f.inverse_covariance[p * d * d..][..d * d];
        assert_close(
            &format!("inverse {p}"),
            &stats.inverse_covariance(p).unwrap(),
            expected,
        );
    }
}

#[test]
fn score_maps_match_numpy_and_scipy() {
    let f = fixture();
    let stats = f.fit();
    for (n, image) in f.test.iter().enumerate() {
        let layers = f.maps(&image.layers);
        let embedding = f.selection().embed(&layers).unwrap();
        assert_eq!(embedding.values(), &image.embedding[..], "embedding {n}");
        let distances = stats.distance_map(&layers).unwrap();
        assert_close(
            &format!("distances {n}"),
            &widen(distances.values()),
            &image.distances,
        );
        let upsampled = resize_bilinear(&distances, f.input()).unwrap();
        assert_close(
            &format!("upsampled {n}"),
            &widen(upsampled.values()),
            &image.upsampled,
        );
        let map = stats.anomaly_map(&layers).unwrap();
        assert_eq!(map.size(), f.input());
        assert_close(
            &format!("anomaly map {n}"),
            &widen(map.values()),
            &image.anomaly_map,
        );
        assert_close(
            &format!("image score {n}"),
            &[f64::from(map.max())],
            &[image.image_score],
        );
    }
}

/// All test images in one call: each map against the reference, and equal
/// to the one-image call to the bit (the factor is shared, the arithmetic
/// per image is not).
#[test]
fn score_maps_of_a_batch_match_numpy_and_scipy() {
    let f = fixture();
    let stats = f.fit();
    let maps: Vec<_> = f.test.iter().map(|image| f.maps(&image.layers)).collect();
    let layers: Vec<&[_]> = maps.iter().map(Vec::as_slice).collect();
    let batch = stats.anomaly_maps(&layers).unwrap();
    assert_eq!(batch.len(), f.test.len());
    for (n, (image, map)) in f.test.iter().zip(&batch).enumerate() {
        assert_close(
            &format!("anomaly map {n} in a batch"),
            &widen(map.values()),
            &image.anomaly_map,
        );
        let alone = stats.anomaly_map(layers[n]).unwrap();
        assert_eq!(map.values(), alone.values(), "image {n}: batch vs alone");
    }
}

#[test]
fn smoothing_a_map_smaller_than_the_kernel_matches_scipy() {
    let f = fixture();
    let [h, w] = f.smoothing.size;
    let map = ScoreMap::new(MapSize::new(h, w), f.smoothing.input.clone()).unwrap();
    let smoothed = GaussianFilter::new(PADIM_SIGMA).unwrap().apply(&map);
    assert_eq!(
        ScoreMap::new(MapSize::new(h, w), vec![0.0; 3])
            .unwrap_err()
            .to_string(),
        "a 5x7 (height x width) map needs 35 values, but 3 were given: pass the values row-major"
    );
    assert_close("smoothed", &widen(smoothed.values()), &f.smoothing.output);
}

/// Deterministic pseudo-random features (xorshift64*), uniform in [-1, 1).
struct Features(u64);

impl Features {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        bits as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// One image's layers for channels `channels` on grids `grids`, with a
    /// large common offset that a naive one-pass covariance would lose.
    fn image(&mut self, channels: &[usize], grids: &[[usize; 2]], offset: f32) -> Vec<Vec<f32>> {
        channels
            .iter()
            .zip(grids)
            .map(|(&c, &[h, w])| (0..c * h * w).map(|_| offset + self.next()).collect())
            .collect()
    }
}

#[test]
fn streaming_fit_in_any_order_and_batching_equals_two_pass() {
    let channels = [5, 6, 7];
    let grids = [[4, 5], [2, 3], [1, 2]];
    let mut rng = Features(0x9E37_79B9_7F4A_7C15);
    let images: Vec<Vec<Vec<f32>>> = (0..13)
        .map(|_| rng.image(&channels, &grids, 1000.0))
        .collect();
    fn layout<'a>(
        image: &'a [Vec<f32>],
        channels: &[usize],
        grids: &[[usize; 2]],
    ) -> Vec<FeatureMap<'a>> {
        image
            .iter()
            .zip(channels)
            .zip(grids)
            .map(|((data, &c), &[h, w])| FeatureMap::new(data, c, h, w))
            .collect()
    }
    let maps = |image| layout(image, &channels, &grids);
    let selection = ChannelSelection::random(&channels, 6, 42).unwrap();
    let input = MapSize::new(16, 20);

    // Two-pass reference in f64 from the embeddings.
    let embeddings: Vec<_> = images
        .iter()
        .map(|image| selection.embed(&maps(image)).unwrap())
        .collect();
    let n = images.len() as f64;
    let d = selection.d();

    let orders: Vec<(Vec<usize>, usize)> = vec![
        ((0..13).collect(), 1),
        ((0..13).rev().collect(), 13),
        (vec![7, 2, 12, 0, 5, 9, 1, 11, 3, 8, 6, 10, 4], 3),
        (vec![3, 1, 4, 0, 5, 9, 2, 6, 8, 7, 12, 10, 11], 5),
    ];
    let mut fitted = Vec::new();
    for (order, batch) in &orders {
        let mut fitter = PadimFitter::new(selection.clone(), input, PADIM_REGULARISER).unwrap();
        for chunk in order.chunks(*batch) {
            let batch: Vec<Vec<FeatureMap<'_>>> = chunk.iter().map(|&i| maps(&images[i])).collect();
            fitter.push_batch(&batch).unwrap();
        }
        assert_eq!(fitter.images(), 13);
        for p in 0..20 {
            let xs: Vec<&[f32]> = embeddings.iter().map(|e| e.get(p).unwrap()).collect();
            let mean: Vec<f64> = (0..d)
                .map(|k| xs.iter().map(|x| f64::from(x[k])).sum::<f64>() / n)
                .collect();
            let mut covariance = vec![0.0; d * d];
            for x in &xs {
                for i in 0..d {
                    for j in 0..d {
                        covariance[i * d + j] +=
                            (f64::from(x[i]) - mean[i]) * (f64::from(x[j]) - mean[j]) / (n - 1.0);
                    }
                }
            }
            let moments = fitter.moments(p).unwrap();
            for (g, e) in moments.mean.iter().zip(&mean) {
                assert!((g - e).abs() <= 1e-12 * e.abs(), "mean at {p}: {g} vs {e}");
            }
            let scale = covariance.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (g, e) in moments.covariance.iter().zip(&covariance) {
                assert!(
                    (g - e).abs() <= 1e-10 * scale,
                    "covariance at {p}: {g} vs {e}"
                );
            }
        }
        fitted.push(fitter.finish().unwrap());
    }
    // Orders differ only in f64 rounding, far below the stored f32 precision.
    let probe = maps(&images[4]);
    let reference = fitted[0].anomaly_map(&probe).unwrap();
    for stats in &fitted[1..] {
        assert_close_f32(stats.means(), fitted[0].means(), 1e-6);
        assert_close_f32(stats.cholesky_factors(), fitted[0].cholesky_factors(), 1e-5);
        assert_close_f32(
            stats.anomaly_map(&probe).unwrap().values(),
            reference.values(),
            1e-5,
        );
    }
}

fn assert_close_f32(got: &[f32], expected: &[f32], tolerance: f32) {
    let scale = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (g, e) in got.iter().zip(expected) {
        assert!((g - e).abs() <= tolerance * scale, "{g} vs {e}");
    }
}

#[test]
fn bytes_and_serde_round_trips_keep_scores() {
    let f = fixture();
    let stats = f.fit();
    let bytes = stats.to_bytes();
    let d = 10;
    assert_eq!(
        bytes.len(),
        8 + 4 + 4 + 12 + 4 + 4 * d + 16 + 8 + 8 + 4 * 48 * (d + 55)
    );
    let decoded = PadimStats::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, stats);
    let json = serde_json::to_string(&stats).unwrap();
    let from_json: PadimStats = serde_json::from_str(&json).unwrap();
    assert_eq!(from_json, stats);
    let layers = f.maps(&f.test[0].layers);
    let map = stats.anomaly_map(&layers).unwrap();
    assert_eq!(decoded.anomaly_map(&layers).unwrap(), map);
    assert_eq!(from_json.anomaly_map(&layers).unwrap(), map);
}

fn message(error: PadimError) -> String {
    error.to_string()
}

#[test]
fn bad_inputs_get_clear_messages() {
    let f = fixture();
    let selection = f.selection();
    let input = f.input();
    let image = &f.train[0];

    let mut fitter = PadimFitter::new(selection.clone(), input, PADIM_REGULARISER).unwrap();
    assert_eq!(
        message(fitter.finish().unwrap_err()),
        "PaDiM was fitted on 0 image(s): the unbiased covariance needs at least 2 (more than d is better)"
    );
    fitter.push(&f.maps(image)).unwrap();
    assert_eq!(
        message(fitter.finish().unwrap_err()),
        "PaDiM was fitted on 1 image(s): the unbiased covariance needs at least 2 (more than d is better)"
    );

    let mut layers = f.maps(image);
    layers[1].data = &layers[1].data[1..];
    assert_eq!(
        message(fitter.push(&layers).unwrap_err()),
        "layer 1 is 12x4x3 (channels x height x width), which needs 144 values, but 143 were given: pass each map row-major as channels x height x width"
    );
    let mut layers = f.maps(image);
    layers[2].channels = 8;
    assert_eq!(
        message(fitter.push(&layers).unwrap_err()),
        "layer 2 has 8 channels, but the channel subset was drawn for 16: use the backbone the statistics were fitted with"
    );
    assert_eq!(
        message(fitter.push(&f.maps(image)[..2]).unwrap_err()),
        "2 feature layers were given, but the channel subset was drawn for 3: pass the same layers (layer1, layer2, layer3) in the same order"
    );
    // Same layer 1 data read as a 6x8 grid: a different input size.
    let mut layers = f.maps(image);
    layers[0].height = 6;
    layers[0].width = 8;
    assert_eq!(
        message(fitter.push(&layers).unwrap_err()),
        "the image's layer-1 grid is 6x8 (height x width), but the statistics are for 8x6 (height x width): use the input size the statistics were fitted with"
    );
    let mut nan = image.clone();
    nan[0][2 * 48 + 7] = f32::NAN;
    let selection_with_nan = ChannelSelection::from_indices(&f.layer_channels, vec![2]).unwrap();
    assert_eq!(
        message(selection_with_nan.embed(&f.maps(&nan)).unwrap_err()),
        "layer 0, channel 2, position (row 1, column 1) is NaN: every feature must be a finite number"
    );
    assert_eq!(fitter.images(), 1, "failed pushes add nothing");

    assert_eq!(
        message(PadimFitter::new(selection.clone(), input, 0.0).unwrap_err()),
        "the covariance regulariser 0 must be a finite number > 0, such as PaDiM's 0.01"
    );
    assert_eq!(
        message(ChannelSelection::random(&[64, 128, 256], 500, 0).unwrap_err()),
        "d = 500 channels cannot be chosen from 448: choose d between 1 and 448 (100 for ResNet-18, 550 for ResNet-50)"
    );
}

#[test]
fn a_singular_covariance_names_the_position_and_the_fix() {
    // Two identical channels valued 1 then 4: the covariance
    // [[4.5, 4.5], [4.5, 4.5]] + 1e-20·I rounds to a singular matrix, and the
    // second Cholesky pivot is 4.5 - fl(4.5 / fl(√4.5))² = -8.88e-16.
    let selection = ChannelSelection::from_indices(&[2], vec![0, 1]).unwrap();
    let mut fitter = PadimFitter::new(selection, MapSize::new(4, 4), 1e-20).unwrap();
    fitter
        .push(&[FeatureMap::new(&[1.0, 1.0], 2, 1, 1)])
        .unwrap();
    fitter
        .push(&[FeatureMap::new(&[4.0, 4.0], 2, 1, 1)])
        .unwrap();
    assert_eq!(
        message(fitter.finish().unwrap_err()),
        "the regularised covariance at position (row 0, column 0) is not positive definite (Cholesky pivot -8.882e-16 at channel 1 of the subset): raise the regulariser above 0.00000000000000000001, e.g. to 0.0000000000000000001, or check the features for huge values"
    );
    fitter.set_regulariser(PADIM_REGULARISER).unwrap();
    assert!(fitter.finish().is_ok());
}

#[test]
fn malformed_statistics_bytes_get_clear_messages() {
    let f = fixture();
    let bytes = f.fit().to_bytes();
    let decode = |b: &[u8]| message(PadimStats::from_bytes(b).unwrap_err());

    assert_eq!(
        decode(b"PNG\x89 not stats"),
        "not PaDiM statistics: the bytes do not start with the magic header \"SPDPADIM\""
    );
    assert_eq!(
        decode(&bytes[..5]),
        "not PaDiM statistics: the bytes do not start with the magic header \"SPDPADIM\""
    );
    let mut wrong_version = bytes.clone();
    wrong_version[8] = 9;
    assert_eq!(
        decode(&wrong_version),
        "PaDiM statistics format version 9 is not supported (this build reads version 1): export the statistics again with this version of spotdiff"
    );
    assert_eq!(
        decode(&bytes[..bytes.len() - 1]),
        "the PaDiM statistics end early: reading the Cholesky factors needs 10560 bytes, but only 10559 remain; the file is truncated"
    );
    assert_eq!(
        decode(&bytes[..14]),
        "the PaDiM statistics end early: reading the layer count needs 4 bytes, but only 2 remain; the file is truncated"
    );
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0, 0, 0]);
    assert_eq!(
        decode(&longer),
        "3 unexpected bytes follow the PaDiM statistics: the file is corrupted or was joined with another"
    );
    // A layer count of 2^32 - 1 must fail on length, not allocate.
    let mut huge = bytes.clone();
    huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        decode(&huge),
        format!(
            "the PaDiM statistics end early: reading the layer channel counts needs 17179869180 bytes, but only {} remain; the file is truncated",
            bytes.len() - 16
        )
    );
    let mut many_channels = bytes.clone();
    many_channels[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        decode(&many_channels),
        "the layers have 4294967323 channels in all, more than the 2^32 - 1 PaDiM can index"
    );
    // Offsets: magic 8, version 4, layer count 4 + 3·4, d 4, indices 10·4.
    let indices = 8 + 4 + 4 + 12 + 4;
    let mut out_of_range = bytes.clone();
    out_of_range[indices..indices + 4].copy_from_slice(&36u32.to_le_bytes());
    assert_eq!(
        decode(&out_of_range),
        "channel index 36 is out of range: the layers have 36 channels, numbered from 0"
    );
    let sizes = indices + 40;
    let mut empty_grid = bytes.clone();
    empty_grid[sizes..sizes + 4].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(
        decode(&empty_grid),
        "the size 0x6 (height x width) is empty: maps and input images need at least one pixel"
    );
    let images = sizes + 16;
    let mut one_image = bytes.clone();
    one_image[images..images + 8].copy_from_slice(&1u64.to_le_bytes());
    assert_eq!(
        decode(&one_image),
        "PaDiM was fitted on 1 image(s): the unbiased covariance needs at least 2 (more than d is better)"
    );
    let regulariser = images + 8;
    let mut negative = bytes.clone();
    negative[regulariser..regulariser + 8].copy_from_slice(&(-0.5f64).to_le_bytes());
    assert_eq!(
        decode(&negative),
        "the covariance regulariser -0.5 must be a finite number > 0, such as PaDiM's 0.01"
    );
    let means = regulariser + 8;
    let mut nan_mean = bytes.clone();
    nan_mean[means + 4 * 3..means + 4 * 4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(
        decode(&nan_mean),
        "the PaDiM statistics hold an invalid mean value at index 3 (NaN): the statistics are corrupted"
    );
    // Position 1's first diagonal entry, made negative.
    let factors = means + 4 * 48 * 10;
    let at = factors + 4 * 55;
    let mut negative_diagonal = bytes.clone();
    negative_diagonal[at..at + 4].copy_from_slice(&(-1.0f32).to_le_bytes());
    assert_eq!(
        decode(&negative_diagonal),
        "the PaDiM statistics hold an invalid Cholesky factor value at index 55 (-1): the statistics are corrupted"
    );
    let mut garbage = bytes;
    for (i, b) in garbage.iter_mut().enumerate().skip(12) {
        *b = (i as u8).wrapping_mul(151);
    }
    assert!(PadimStats::from_bytes(&garbage).is_err());
}

/// ResNet-18-sized timing (layer1 64x56x56, layer2 128x28x28, layer3
/// 256x14x14, d = 100, input 224): run with
/// `cargo test --release -p spotdiff --test padim -- --ignored --nocapture`.
#[test]
#[ignore = "timing, run in release by hand"]
fn timing_resnet18_sized() {
    let channels = [64, 128, 256];
    let grids = [[56, 56], [28, 28], [14, 14]];
    let images = 64;
    let batch = 8;
    let mut rng = Features(7);
    let data: Vec<Vec<Vec<f32>>> = (0..batch)
        .map(|_| rng.image(&channels, &grids, 0.5))
        .collect();
    let maps: Vec<Vec<FeatureMap<'_>>> = data
        .iter()
        .map(|image| {
            image
                .iter()
                .zip(channels)
                .zip(grids)
                .map(|((d, c), [h, w])| FeatureMap::new(d, c, h, w))
                .collect()
        })
        .collect();
    let selection = ChannelSelection::random(&channels, 100, 1024).unwrap();
    let mut fitter =
        PadimFitter::new(selection, MapSize::new(224, 224), PADIM_REGULARISER).unwrap();
    let start = std::time::Instant::now();
    // The same 8 images repeated: the arithmetic is what is timed.
    for _ in 0..images / batch {
        fitter.push_batch(&maps).unwrap();
    }
    let pushed = start.elapsed();
    let start = std::time::Instant::now();
    let stats = fitter.finish().unwrap();
    let finished = start.elapsed();
    let start = std::time::Instant::now();
    let scored = 16;
    for i in 0..scored {
        let map = stats.anomaly_map(&maps[i % batch]).unwrap();
        assert!(map.max().is_finite());
    }
    let scoring = start.elapsed();
    let start = std::time::Instant::now();
    for i in 0..scored {
        stats.distance_map(&maps[i % batch]).unwrap();
    }
    println!("distance maps alone: {:.2?}", start.elapsed());
    println!(
        "fit: {images} images in {pushed:.2?} ({:.1} images/s), finish {finished:.2?}; \
         score: {scored} images in {scoring:.2?} ({:.1} images/s); statistics {} bytes",
        images as f64 / pushed.as_secs_f64(),
        scored as f64 / scoring.as_secs_f64(),
        stats.to_bytes().len()
    );
}
