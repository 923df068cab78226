//! The evaluation's per-class figures: the ROC and PR curves of every
//! detector, and the segmentation panel of the paper's Fig. 12.

use crate::data::{Mask, RgbImage};
use crate::eval::{ClassMetrics, Metrics, TaskMetrics, Uncertain};
use crate::metrics::bootstrap::Estimate;
use crate::metrics::Curve;
use crate::padim::ScoreMap;
use crate::plot::{self, Panel, Series, Style};

use super::heatmap::{grid, heat_map, mask_picture};
use super::table::{ClassResult, ReportError, Scores};

/// Anomalous test images a class's segmentation panel shows.
pub const PANEL_ROWS: usize = 4;

/// Pixels between the panel's pictures.
const PANEL_GAP: u32 = 4;

/// The test images a class's segmentation panel shows, by index into its
/// test images (given by their labels): the first [`PANEL_ROWS`] anomalies.
pub fn panel_rows(anomalous: impl IntoIterator<Item = bool>) -> Vec<usize> {
    anomalous
        .into_iter()
        .enumerate()
        .filter_map(|(index, anomalous)| anomalous.then_some(index))
        .take(PANEL_ROWS)
        .collect()
}

/// The paper's Fig. 12 for one class: a row per shown image with the image,
/// its ground truth and each detector's heat map; `maps[d][row]` is detector
/// `d`'s map of that row's image. Each detector's maps share one colour
/// scale, their minimum to their maximum, so its rows compare with each other.
pub fn segmentation_panel(
    images: &[RgbImage<u8>],
    masks: &[&Mask],
    maps: &[Vec<ScoreMap>],
) -> Result<RgbImage<u8>, ReportError> {
    let scales: Vec<(f32, f32)> = maps
        .iter()
        .map(|maps| {
            let values = maps.iter().flat_map(|m| m.values().iter().copied());
            values.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
        })
        .collect();
    let rows: Vec<Vec<RgbImage<u8>>> = images
        .iter()
        .zip(masks)
        .enumerate()
        .map(|(row, (image, mask))| {
            let mut pictures = vec![image.clone(), mask_picture(mask)];
            for (detector_maps, &(low, high)) in maps.iter().zip(&scales) {
                pictures.push(heat_map(&detector_maps[row], low, high));
            }
            pictures
        })
        .collect();
    grid(&rows, PANEL_GAP)
}

/// One class's image- and pixel-level ROC and PR curves as an SVG figure,
/// a line per detector.
pub fn curves_figure(class: &str, detectors: &[(String, ClassMetrics)]) -> String {
    let panel = |title: &str, x: &str, y: &str, pick: &dyn Fn(&ClassMetrics) -> &Curve| Panel {
        title: title.to_string(),
        x_label: x.to_string(),
        y_label: y.to_string(),
        series: detectors
            .iter()
            .map(|(name, metrics)| Series {
                label: name.clone(),
                points: pick(metrics).points.clone(),
                style: Style::Line,
            })
            .collect(),
    };
    let (fpr, tpr) = ("false positive rate", "true positive rate");
    let panels = [
        panel("image ROC", fpr, tpr, &|m| &m.classification.roc),
        panel("image PR", "recall", "precision", &|m| &m.classification.pr),
        panel("pixel ROC", fpr, tpr, &|m| &m.segmentation.roc),
        panel("pixel PR", "recall", "precision", &|m| &m.segmentation.pr),
    ];
    plot::figure(&format!("{class}: ROC and PR curves"), &panels)
}

impl ClassResult {
    /// One detector's row entries of the paper's tables for one class, with
    /// their intervals when the metrics were resampled.
    pub fn new(class: &str, backbone: &str, metrics: &ClassMetrics) -> Self {
        let intervals = match &metrics.resampled {
            Some(Ok(resampled)) => Some(
                Uncertain {
                    point: Metrics::of(metrics),
                    resampled: resampled.clone(),
                }
                .intervals(),
            ),
            _ => None,
        };
        let pair = |task: fn(&Metrics<Estimate>) -> &TaskMetrics<Estimate>| {
            intervals
                .as_ref()
                .map(|i| [task(i).aupr.ci95, task(i).auroc.ci95])
        };
        ClassResult {
            class: class.to_string(),
            backbone: backbone.to_string(),
            classification: Scores {
                aupr: metrics.classification.aupr,
                auroc: metrics.classification.auroc,
                ci95: pair(|i| &i.classification),
            },
            segmentation: Scores {
                aupr: metrics.segmentation.aupr,
                auroc: metrics.segmentation.auroc,
                ci95: pair(|i| &i.segmentation),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_show_the_first_anomalies() {
        let labels = [false, true, false, true, true, true, true, false];
        assert_eq!(panel_rows(labels), vec![1, 3, 4, 5]);
        assert_eq!(panel_rows([false, false]), Vec::<usize>::new());
    }
}
