use crate::metrics::CurvePoint;
use crate::plot::{self, Panel, Series, Style};

use super::table::{ClassResult, Scores};

/// Classification (x) against segmentation (y) per class, one colour per
/// backbone, for AU-PR and AU-ROC side by side: the paper's Fig. 7 and 8.
pub fn scatter_plot(title: &str, results: &[ClassResult]) -> String {
    let mut backbones: Vec<&str> = Vec::new();
    for result in results {
        if !backbones.contains(&result.backbone.as_str()) {
            backbones.push(&result.backbone);
        }
    }
    let panel = |name: &str, metric: fn(&Scores) -> f64| Panel {
        title: name.to_string(),
        x_label: format!("classification {name}"),
        y_label: format!("segmentation {name}"),
        series: backbones
            .iter()
            .map(|&backbone| Series {
                label: backbone.to_string(),
                points: results
                    .iter()
                    .filter(|r| r.backbone == backbone)
                    .map(|r| CurvePoint {
                        x: metric(&r.classification),
                        y: metric(&r.segmentation),
                    })
                    .collect(),
                style: Style::Points,
            })
            .collect(),
    };
    plot::figure(
        title,
        &[panel("AU-PR", |s| s.aupr), panel("AU-ROC", |s| s.auroc)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_marker_per_class_and_backbone_in_each_panel() {
        let result = |class: &str, backbone: &str| ClassResult {
            class: class.into(),
            backbone: backbone.into(),
            classification: Scores {
                aupr: 0.5,
                auroc: 0.9,
                ci95: None,
            },
            segmentation: Scores {
                aupr: 0.1,
                auroc: 0.95,
                ci95: None,
            },
        };
        let results = [
            result("a", "x"),
            result("b", "x"),
            result("a", "y"),
            result("b", "y"),
        ];
        let svg = scatter_plot("Fig. 7", &results);
        assert_eq!(svg.matches("<circle").count(), 8);
        assert!(svg.contains(">x<") && svg.contains(">y<"));
    }
}
