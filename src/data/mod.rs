//! Data sets: VisA through its split CSVs and MVTec AD through its folders
//! (SPEC "Data"), decoding from bytes, PaDiM's preprocessing, and a checker
//! that reports every problem of a data set at once.
//!
//! Both layouts read into one [`Sample`] type holding paths only; pixels are
//! decoded on demand ([`Sample::load_image`], [`Sample::load_mask`]). Files
//! are reached through a [`Source`]: a folder natively ([`DirSource`]), bytes
//! in memory in the browser or in tests ([`MemorySource`]).
//!
//! [`synth`] writes a procedural VisA-layout data set with exact masks.

mod check;
mod decode;
mod load;
mod mvtec;
mod preprocess;
mod problem;
mod sample;
mod source;
pub mod synth;
mod visa;

pub use check::{check_mvtec, check_samples, check_visa, CheckReport};
pub use decode::{
    decode_mask, decode_rgb8, decode_rgb_f32, read_dimensions, verify, DecodeError, Format, Mask,
    RgbImage, SizeLimit,
};
pub use mvtec::{read_mvtec, scan_mvtec, GOOD};
pub use preprocess::{
    Chw, Preprocess, PreprocessConfig, PreprocessError, ResizeFilter, ResizeMode, IMAGENET_MEAN,
    IMAGENET_STD,
};
pub use problem::{DataError, Problem, ProblemKind};
pub use sample::{Dataset, Label, Row, Sample, Split};
#[cfg(not(target_family = "wasm"))]
pub use source::DirSource;
pub use source::{join, Listing, MemorySource, Sink, Source, SourceError};
pub use visa::{first_anomalies, parse_visa_csv, read_visa, scan_visa, VisaSplit, VISA_HEADER};
