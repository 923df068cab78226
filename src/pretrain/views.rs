//! The batch builder: from decoded images to the views each method reads,
//! with every random draw keyed by (seed, epoch, image index), so a batch
//! does not depend on which thread built it or on the other images.
//!
//! Views of the methods: two strong views (SimSiam, MoCo v2: SimSiam's
//! augmentation; SimCLR: its own), or one for supervised training
//! (torchvision's ImageNet recipe: random resized crop 0.08–1 and flip).
//! SPD's views, only when η > 0: the image resized to the training size,
//! then `a = weak(x)`, `b = weak(x)` (a second draw), `n = SmoothBlend(a)`.
//! The method's views and SPD's draw from separate streams, so turning SPD
//! on does not change the method's views.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use super::method::{Batch, MethodKind};
use crate::augment::{
    crop_resize, AugmentError, Rect, Rng, SmoothBlend, StrongAugment, StrongAugmentConfig,
    WeakAugment, WeakAugmentConfig,
};
use crate::data::{RgbImage, IMAGENET_MEAN, IMAGENET_STD};

/// Which stream of an image's draws.
#[derive(Clone, Copy)]
enum Purpose {
    Method = 0,
    Spd = 1,
    // The epoch's shuffle uses `Purpose::Order` with the index 0.
    Order = 2,
}

/// The stream of one (epoch, image, purpose): disjoint for up to 2^30
/// images per epoch.
fn stream(epoch: u64, index: u64, purpose: Purpose) -> u64 {
    (epoch << 32) | (index << 2) | purpose as u64
}

/// The order of an epoch's images: a seeded Fisher–Yates shuffle.
pub fn epoch_order(seed: u64, epoch: u64, count: usize) -> Vec<usize> {
    let mut rng = Rng::new(seed, stream(epoch, 0, Purpose::Order));
    let mut order: Vec<usize> = (0..count).collect();
    for i in (1..count).rev() {
        let j = rng.int(0, i as u32) as usize;
        order.swap(i, j);
    }
    order
}

/// The augmentations of a run, checked.
#[derive(Debug, Clone)]
pub struct ViewBuilder {
    method: MethodKind,
    size: u32,
    strong: StrongAugment,
    spd: Option<(WeakAugment, SmoothBlend)>,
    seed: u64,
}

/// Every view of one image, normalised, channels first (`3 · size · size`).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemViews {
    pub views: Vec<Vec<f32>>,
    pub spd: Option<[Vec<f32>; 3]>,
    pub label: i64,
}

/// A batch on the host, each view `[batch, 3, size, size]` flattened.
#[derive(Debug, Clone, PartialEq)]
pub struct HostBatch {
    pub size: usize,
    pub views: Vec<Vec<f32>>,
    pub spd: Option<[Vec<f32>; 3]>,
    pub labels: Vec<i64>,
}

impl ViewBuilder {
    /// The views of `method` at `size` × `size`, with SPD's when `spd`.
    pub fn new(method: MethodKind, size: u32, spd: bool, seed: u64) -> Result<Self, AugmentError> {
        let strong = match method {
            MethodKind::SimClr => StrongAugmentConfig::simclr(size),
            MethodKind::Supervised => StrongAugmentConfig {
                crop_scale: [0.08, 1.0],
                jitter_p: 0.0,
                grayscale_p: 0.0,
                blur_p: 0.0,
                ..StrongAugmentConfig::simsiam(size)
            },
            MethodKind::SimSiam | MethodKind::Moco => StrongAugmentConfig::simsiam(size),
        }
        .check()?;
        let spd = match spd {
            true => Some((
                WeakAugmentConfig::default().check()?,
                SmoothBlend::default(),
            )),
            false => None,
        };
        Ok(ViewBuilder {
            method,
            size,
            strong,
            spd,
            seed,
        })
    }

    pub fn size(&self) -> u32 {
        self.size
    }

    /// The views of the image at `index` of the data set in `epoch`.
    pub fn item(
        &self,
        image: &RgbImage<f32>,
        label: i64,
        epoch: u64,
        index: u64,
    ) -> Result<ItemViews, AugmentError> {
        let mut rng = Rng::new(self.seed, stream(epoch, index, Purpose::Method));
        let views = (0..self.method.view_count())
            .map(|_| Ok(normalized_chw(&self.strong.apply(image, &mut rng)?)))
            .collect::<Result<_, AugmentError>>()?;
        let spd = match &self.spd {
            None => None,
            Some((weak, blend)) => {
                let mut rng = Rng::new(self.seed, stream(epoch, index, Purpose::Spd));
                let whole = Rect {
                    x: 0,
                    y: 0,
                    width: image.width,
                    height: image.height,
                };
                let resized = crop_resize(image, whole, self.size, self.size)?;
                let anchor = weak.apply(&resized, &mut rng)?;
                let positive = weak.apply(&resized, &mut rng)?;
                let negative = blend.apply(&anchor, &mut rng)?.image;
                Some([&anchor, &positive, &negative].map(normalized_chw))
            }
        };
        Ok(ItemViews { views, spd, label })
    }
}

/// ImageNet normalisation, channels first.
fn normalized_chw(image: &RgbImage<f32>) -> Vec<f32> {
    let plane = image.width as usize * image.height as usize;
    let mut out = vec![0.0; 3 * plane];
    for (i, pixel) in image.pixels.chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (pixel[c] - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
        }
    }
    out
}

impl HostBatch {
    /// Stacks the items of one batch in order.
    ///
    /// # Panics
    /// On an empty list or items of different kinds (broken invariants:
    /// one [`ViewBuilder`] makes every item of a run).
    pub fn collate(items: &[ItemViews], size: u32) -> Self {
        let first = &items[0];
        let stack = |pick: &dyn Fn(&ItemViews) -> &Vec<f32>| -> Vec<f32> {
            items
                .iter()
                .flat_map(|item| pick(item).iter().copied())
                .collect()
        };
        let views = (0..first.views.len())
            .map(|v| stack(&|item| &item.views[v]))
            .collect();
        let spd = first.spd.as_ref().map(|_| {
            [0, 1, 2]
                .map(|v| stack(&|item| &item.spd.as_ref().expect("every item has SPD views")[v]))
        });
        HostBatch {
            size: size as usize,
            views,
            spd,
            labels: items.iter().map(|item| item.label).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// The batch cut into `count` equal runs of consecutive items, one per
    /// data-parallel device.
    ///
    /// # Panics
    /// When `count` is 0 or does not divide the batch (the trainer checks
    /// `--batch` against `--devices` first).
    pub fn shards(&self, count: usize) -> Vec<HostBatch> {
        assert!(
            count > 0 && self.len().is_multiple_of(count),
            "{count} shards of a batch of {}",
            self.len()
        );
        let items = self.len() / count;
        let image = 3 * self.size * self.size;
        let cut = |data: &Vec<f32>, shard: usize| {
            data[shard * items * image..(shard + 1) * items * image].to_vec()
        };
        (0..count)
            .map(|shard| HostBatch {
                size: self.size,
                views: self.views.iter().map(|v| cut(v, shard)).collect(),
                spd: self
                    .spd
                    .as_ref()
                    .map(|views| views.each_ref().map(|v| cut(v, shard))),
                labels: self.labels[shard * items..(shard + 1) * items].to_vec(),
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The batch as tensors on `device`.
    pub fn to_device<B: Backend>(&self, device: &B::Device) -> Batch<B> {
        let shape = [self.len(), 3, self.size, self.size];
        let tensor =
            |data: &Vec<f32>| Tensor::from_data(TensorData::new(data.clone(), shape), device);
        Batch {
            views: self.views.iter().map(tensor).collect(),
            spd: self.spd.as_ref().map(|views| views.each_ref().map(tensor)),
            labels: Tensor::<B, 1, Int>::from_data(
                TensorData::new(self.labels.clone(), [self.len()]),
                device,
            ),
        }
    }
}
