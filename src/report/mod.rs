//! Evaluation reports in the paper's form: per-class tables of AU-PR and
//! AU-ROC with a column pair per backbone and a mean row (the supplementary
//! material's Tables 7–14), and scatter plots of classification against
//! segmentation per backbone (Fig. 7/8), each class's ROC and PR curves, heat maps (score overlays and the
//! segmentation panels of Fig. 12) and the CSV writer of score lists.

mod csv_table;
mod figures;
mod heatmap;
mod npy;
mod scatter;
mod table;

pub use csv_table::csv_table;
pub use figures::{curves_figure, panel_rows, segmentation_panel, PANEL_ROWS};
pub use heatmap::{encode_png, grid, heat_map, jet, mask_picture, overlay, DEFAULT_OPACITY};
pub use npy::encode_npy;
pub use scatter::scatter_plot;
pub use table::{ClassResult, Provenance, ReportError, ResultTable, RowOfTable, Scores, Task};
