//! Data sets: VisA through its split CSVs, MVTec AD through its folders and a
//! plain folder of one's own images (SPEC "Data"), decoding from bytes,
//! PaDiM's preprocessing, and a checker that reports every problem of a data
//! set at once.
//!
//! Every layout is read through one [`Reader`] (its [`Layout`], told from the
//! tree by [`Layout::detect`], and which images test) into one [`Sample`]
//! type holding paths only; pixels are decoded on demand
//! ([`Sample::load_image`], [`Sample::load_mask`]). Files are reached through a [`Source`]: a folder natively ([`DirSource`]), bytes
//! in memory in the browser or in tests ([`MemorySource`]).
//!
//! [`synth`] writes a procedural data set with exact masks in any layout.

mod check;
mod decode;
mod folder;
mod layout;
mod load;
mod mvtec;
mod preprocess;
mod problem;
mod sample;
mod source;
pub mod synth;
mod visa;

pub use check::{check_folder, check_mvtec, check_samples, check_visa, CheckReport};
pub use decode::{
    decode_mask, decode_rgb8, decode_rgb_f32, read_dimensions, verify, DecodeError, Format, Mask,
    RgbImage, SizeLimit,
};
pub use folder::{scan_folder, FolderSplit, FOLDER_DEFECT, FOLDER_GOOD, FOLDER_MASK};
pub use layout::{Layout, Reader};
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
