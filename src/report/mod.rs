//! Evaluation reports in the paper's form: per-class tables of AU-PR and
//! AU-ROC with a column pair per backbone and a mean row (the supplementary
//! material's Tables 7–14), and scatter plots of classification against
//! segmentation per backbone (Fig. 7/8), and heat maps: overlays and the
//! segmentation panels of Fig. 12.

mod heatmap;
mod scatter;
mod table;

pub use heatmap::{encode_png, grid, heat_map, jet, mask_picture, overlay};
pub use scatter::scatter_plot;
pub use table::{ClassResult, ReportError, ResultTable, RowOfTable, Scores, Task};
