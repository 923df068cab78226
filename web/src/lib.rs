//! The browser's entry points into the spotdiff core. This layer only converts
//! between JavaScript values (JSON strings and typed arrays) and core calls;
//! all computation is the core's, so the page shows the same numbers as the
//! command line.

mod evaluation;
mod metrics;
mod scoring;
mod toy;

pub use evaluation::Evaluation;
pub use metrics::binary_metrics;
pub use scoring::{csv_table_of, default_opacity, score_overlay, Scored, Scorer};
pub use toy::{compare_toy_models, seed_toy_models};
