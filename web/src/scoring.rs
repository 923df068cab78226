//! Scoring dropped images with a bundle, on WebGPU or on the CPU.
//!
//! The page asks `navigator.gpu.requestAdapter()` before choosing `webgpu`:
//! burn's WebGPU set-up panics when no adapter exists. Tensors are read back
//! only asynchronously (synchronous reads panic on WebGPU).

use std::cell::RefCell;

use burn::backend::Flex;
#[cfg(target_family = "wasm")]
use burn::backend::{
    wgpu::{self, graphics, RuntimeOptions, WgpuDevice},
    WebGpu,
};
use serde::Serialize;
use spotdiff::bundle::Bundle;
use spotdiff::data::{decode_mask, decode_rgb_f32, RgbImage, SizeLimit};
use spotdiff::eval::{Detection, Detector};
use spotdiff::padim::{MapSize, ScoreMap};
use spotdiff::report::{csv_table, overlay, DEFAULT_OPACITY};
use wasm_bindgen::prelude::*;

#[cfg(target_family = "wasm")]
thread_local! {
    /// burn keeps one WebGPU client per device for the whole page.
    static WEBGPU_READY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

thread_local! {
    /// The last panic's message, so the page can say why the GPU path died.
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Records panic messages for [`last_panic`]; installed once at start-up.
#[wasm_bindgen(start)]
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        LAST_PANIC.with(|last| *last.borrow_mut() = info.to_string());
    }));
}

/// The message of the panic that trapped the module, if any.
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> String {
    LAST_PANIC.with(|last| last.borrow().clone())
}

enum Engine {
    Cpu(Box<Detector<Flex>>),
    #[cfg(target_family = "wasm")]
    WebGpu(Box<Detector<WebGpu>>),
}

/// One bundle's detector on one backend.
#[wasm_bindgen]
pub struct Scorer {
    bundle: Bundle,
    engine: Engine,
}

/// What the page shows about the loaded bundle.
#[derive(Serialize)]
struct Info<'a> {
    class_name: &'a str,
    backbone: &'static str,
    width_multiplier: f64,
    input_width: usize,
    input_height: usize,
    d: usize,
    fitted_images: u64,
    threshold: f32,
    threshold_source: &'a str,
    generator: &'a str,
    backend: &'static str,
}

#[wasm_bindgen]
impl Scorer {
    /// Reads and checks a bundle and loads its trunk on `backend` (`webgpu`
    /// or `cpu`).
    pub async fn load(bytes: Vec<u8>, backend: &str) -> Result<Scorer, JsError> {
        let bundle = Bundle::from_bytes(&bytes).map_err(|e| JsError::new(&e.to_string()))?;
        let engine = match backend {
            "cpu" => Engine::Cpu(Box::new(
                bundle
                    .detector::<Flex>(&Default::default())
                    .map_err(|e| JsError::new(&e.to_string()))?,
            )),
            #[cfg(target_family = "wasm")]
            "webgpu" => {
                let device = WgpuDevice::default();
                if !WEBGPU_READY.with(std::cell::Cell::get) {
                    wgpu::init_setup_async::<graphics::WebGpu>(&device, RuntimeOptions::default())
                        .await;
                    WEBGPU_READY.with(|ready| ready.set(true));
                }
                Engine::WebGpu(Box::new(
                    bundle
                        .detector::<WebGpu>(&device)
                        .map_err(|e| JsError::new(&e.to_string()))?,
                ))
            }
            other => {
                return Err(JsError::new(&format!(
                    "unknown backend `{other}`: choose `webgpu` or `cpu`"
                )))
            }
        };
        Ok(Scorer { bundle, engine })
    }

    /// The bundle's description as JSON.
    pub fn info(&self) -> String {
        let header = self.bundle.header();
        let info = Info {
            class_name: &header.class,
            backbone: header.backbone.torchvision_name().unwrap_or("resnet"),
            width_multiplier: header.backbone.width,
            input_width: header.input.width,
            input_height: header.input.height,
            d: header.channels.d(),
            fitted_images: header.images,
            threshold: header.threshold,
            threshold_source: &header.threshold_source,
            generator: &header.generator,
            backend: match self.engine {
                Engine::Cpu(_) => "CPU",
                #[cfg(target_family = "wasm")]
                Engine::WebGpu(_) => "WebGPU",
            },
        };
        serde_json::to_string(&info).expect("the bundle info serialises")
    }

    /// Decodes an image file (JPEG or PNG) with the core's decoder and scores it.
    pub async fn score(&self, bytes: Vec<u8>) -> Result<Scored, JsError> {
        let image = decode_rgb_f32(&bytes, &SizeLimit::default())
            .map_err(|e| JsError::new(&e.to_string()))?;
        let (source_width, source_height) = (image.width, image.height);
        let detection = match &self.engine {
            Engine::Cpu(detector) => detector.anomaly_map_async(&image).await,
            #[cfg(target_family = "wasm")]
            Engine::WebGpu(detector) => detector.anomaly_map_async(&image).await,
        }
        .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Scored::new(
            self.preprocess_rgba(&detection),
            detection,
            source_width,
            source_height,
        ))
    }

    /// A ground-truth mask file for an image of `image_width × image_height`,
    /// binarised (`!= 0`), resized and cropped like the image: one byte per
    /// map pixel, 1 = defect.
    pub fn mask(
        &self,
        bytes: Vec<u8>,
        image_width: u32,
        image_height: u32,
    ) -> Result<Vec<u8>, JsError> {
        let mask =
            decode_mask(&bytes, &SizeLimit::default()).map_err(|e| JsError::new(&e.to_string()))?;
        if (mask.width, mask.height) != (image_width, image_height) {
            return Err(JsError::new(&format!(
                "the mask is {}×{} but its image is {image_width}×{image_height}",
                mask.width, mask.height
            )));
        }
        let mask = self
            .preprocess()
            .mask(&mask)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(mask.pixels.iter().map(|&p| u8::from(p)).collect())
    }
}

impl Scorer {
    fn preprocess(&self) -> &spotdiff::data::Preprocess {
        match &self.engine {
            Engine::Cpu(detector) => detector.preprocess(),
            #[cfg(target_family = "wasm")]
            Engine::WebGpu(detector) => detector.preprocess(),
        }
    }

    /// The scored (resized, cropped) image as RGBA for a canvas.
    fn preprocess_rgba(&self, detection: &Detection) -> Vec<u8> {
        let rgb = self.preprocess().to_rgb8(&detection.input);
        rgb.pixels
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect()
    }
}

/// One image's score, anomaly map and the view it was computed on.
#[wasm_bindgen]
pub struct Scored {
    score: f32,
    width: u32,
    height: u32,
    source_width: u32,
    source_height: u32,
    map: Vec<f32>,
    rgba: Vec<u8>,
}

impl Scored {
    fn new(rgba: Vec<u8>, detection: Detection, source_width: u32, source_height: u32) -> Self {
        let size = detection.map.size();
        Self {
            score: detection.score,
            width: size.width as u32,
            height: size.height as u32,
            source_width,
            source_height,
            map: detection.map.into_values(),
            rgba,
        }
    }
}

#[wasm_bindgen]
impl Scored {
    /// The image score: the anomaly map's maximum.
    #[wasm_bindgen(getter)]
    pub fn score(&self) -> f32 {
        self.score
    }

    /// The anomaly map's width (the bundle's input size).
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> u32 {
        self.width
    }

    #[wasm_bindgen(getter)]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The dropped image's own width, before preprocessing.
    #[wasm_bindgen(getter, js_name = sourceWidth)]
    pub fn source_width(&self) -> u32 {
        self.source_width
    }

    #[wasm_bindgen(getter, js_name = sourceHeight)]
    pub fn source_height(&self) -> u32 {
        self.source_height
    }

    /// The anomaly map, row by row.
    pub fn map(&self) -> Vec<f32> {
        self.map.clone()
    }

    /// The scored view as RGBA bytes, `width · height · 4`.
    pub fn rgba(&self) -> Vec<u8> {
        self.rgba.clone()
    }
}

/// The overlay's opacity when nobody has moved the page's slider: the one
/// `spotdiff score` draws its PNGs with.
#[wasm_bindgen(js_name = defaultOpacity)]
pub fn default_opacity() -> f32 {
    DEFAULT_OPACITY
}

/// A scored view (`rgba`, as [`Scored::rgba`] gives it; alpha ignored) with
/// its anomaly map laid over it by the core's `report::overlay`: the one
/// colour scale of every overlay, [0, 2·threshold] of the bundle's
/// `threshold`, at `opacity` (0 to 1), the region at or above `outline`
/// (the page's threshold slider) outlined. RGBA bytes for a canvas.
#[wasm_bindgen(js_name = scoreOverlay)]
pub fn score_overlay(
    rgba: &[u8],
    map: &[f32],
    width: u32,
    height: u32,
    threshold: f32,
    outline: f32,
    opacity: f32,
) -> Result<Vec<u8>, JsError> {
    score_overlay_rgba(rgba, map, (width, height), (threshold, outline), opacity)
        .map_err(|message| JsError::new(&message))
}

fn score_overlay_rgba(
    rgba: &[u8],
    map: &[f32],
    (width, height): (u32, u32),
    (threshold, outline): (f32, f32),
    opacity: f32,
) -> Result<Vec<u8>, String> {
    let size = MapSize::new(height as usize, width as usize);
    let map = ScoreMap::new(size, map.to_vec()).map_err(|e| e.to_string())?;
    if rgba.len() != 4 * size.width * size.height {
        return Err(format!(
            "the image has {} RGBA bytes but a {width}×{height} map needs {}",
            rgba.len(),
            4 * size.width * size.height
        ));
    }
    let image = RgbImage {
        width,
        height,
        pixels: rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
    };
    let drawn = overlay(&image, &map, threshold, outline, opacity).map_err(|e| e.to_string())?;
    Ok(drawn
        .pixels
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect())
}

/// The core's CSV writer for the page's download: `cells` row by row, as
/// many per row as `header` has columns.
#[wasm_bindgen(js_name = csvTable)]
pub fn csv_table_of(header: Vec<String>, cells: Vec<String>) -> Result<String, JsError> {
    csv_text(&header, &cells).map_err(|message| JsError::new(&message))
}

fn csv_text(header: &[String], cells: &[String]) -> Result<String, String> {
    if header.is_empty() {
        return Err("the CSV needs at least one column".into());
    }
    if !cells.len().is_multiple_of(header.len()) {
        return Err(format!(
            "{} cells do not fill rows of {} columns",
            cells.len(),
            header.len()
        ));
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    csv_table(&header, cells.chunks(header.len())).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overlay_is_the_core_one_as_rgba() {
        // A 2×1 map (0, 4) over grey 100, threshold 3: the right pixel is
        // outlined white; the left is jet(0) = (0, 0, 128) half over grey,
        // (50, 50, 114).
        let grey = [100, 100, 100, 7, 100, 100, 100, 7];
        let rgba = score_overlay_rgba(&grey, &[0.0, 4.0], (2, 1), (3.0, 3.0), 0.5).unwrap();
        assert_eq!(rgba, [50, 50, 114, 255, 255, 255, 255, 255]);
    }

    #[test]
    fn mismatched_sizes_and_bad_opacities_are_messages() {
        let error = score_overlay_rgba(&[0; 4], &[0.0, 1.0], (2, 1), (1.0, 1.0), 0.5).unwrap_err();
        assert_eq!(error, "the image has 4 RGBA bytes but a 2×1 map needs 8");
        let error = score_overlay_rgba(&[0; 4], &[0.0], (1, 1), (1.0, 1.0), 2.0).unwrap_err();
        assert_eq!(error, "the overlay's opacity must be from 0 to 1, got 2");
        assert!(score_overlay_rgba(&[0; 8], &[0.0], (2, 1), (1.0, 1.0), 0.5).is_err());
    }

    #[test]
    fn csv_cells_fill_rows_under_the_header() {
        let cells = ["a,b.jpg", "0.5", "x", "1"].map(String::from);
        let header = ["image", "score"].map(String::from);
        assert_eq!(
            csv_text(&header, &cells).unwrap(),
            "image,score\n\"a,b.jpg\",0.5\nx,1\n"
        );
        assert_eq!(
            csv_text(&header, &cells[..3]).unwrap_err(),
            "3 cells do not fill rows of 2 columns"
        );
    }
}
