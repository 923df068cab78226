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
use spotdiff::data::{decode_mask, decode_rgb_f32, SizeLimit};
use spotdiff::eval::{Detection, Detector};
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
            backbone: header.backbone.torchvision_name().unwrap_or("ResNet"),
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
