//! The byte layout described in the module docs.

use half::f16;

use super::{Bundle, BundleError, BundleHeader, Section};
use crate::model::weights::StoredArchitecture;
use crate::model::{Precision, ResNetConfig};
use crate::padim::{MapSize, PadimStats};

const MAGIC: &[u8; 8] = b"SPOTDIFF";
const VERSION: u32 = 1;
/// Magic, version, file length, header length.
const PREAMBLE: usize = 8 + 4 + 8 + 4;
const CHECKSUM: usize = 4;

/// The largest resize or crop side a bundle may ask for: twice the
/// command line's largest `--size`. Scoring allocates images of this side,
/// so a stranger's header must not choose it freely.
const MAX_SIDE: u32 = 8192;

const WEIGHTS: &str = "weights";
const MEAN: &str = "mean";
const CHOLESKY: &str = "cholesky";

/// The statistics as a bundle of `precision` stores them: with f16, every
/// Cholesky factor rounded to the nearest half (means stay f32: they are
/// 2% of the file, and their rounding error would be divided by the
/// smallest standard deviations).
pub(super) fn round(stats: &PadimStats, precision: Precision) -> Result<PadimStats, BundleError> {
    match precision {
        Precision::F32 => Ok(stats.clone()),
        Precision::F16 => {
            let factors = stats.cholesky_factors();
            if let Some(index) = factors.iter().position(|&v| !f16::from_f32(v).is_finite()) {
                return Err(BundleError::HalfOverflow {
                    what: "Cholesky factor",
                    index,
                    value: factors[index],
                });
            }
            let rounded = factors.iter().map(|&v| f16::from_f32(v).to_f32()).collect();
            Ok(stats.with_cholesky_factors(rounded)?)
        }
    }
}

/// The section table for these parts.
pub(super) fn sections(weights: usize, stats: &PadimStats, precision: Precision) -> Vec<Section> {
    let (encoding, width) = factor_encoding(precision);
    vec![
        Section {
            name: WEIGHTS.into(),
            encoding: "safetensors".into(),
            bytes: weights as u64,
        },
        Section {
            name: MEAN.into(),
            encoding: "f32le".into(),
            bytes: 4 * stats.means().len() as u64,
        },
        Section {
            name: CHOLESKY.into(),
            encoding: encoding.into(),
            bytes: width * stats.cholesky_factors().len() as u64,
        },
    ]
}

fn factor_encoding(precision: Precision) -> (&'static str, u64) {
    match precision {
        Precision::F32 => ("f32le", 4),
        Precision::F16 => ("f16le", 2),
    }
}

impl Bundle {
    /// Encodes the bundle in the format of the module docs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.header).expect("a bundle header serialises");
        let data: u64 = self.header.sections.iter().map(|s| s.bytes).sum();
        let total = (PREAMBLE + header.len() + CHECKSUM) as u64 + data;
        let mut out = Vec::with_capacity(total as usize);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&total.to_le_bytes());
        let header_len = u32::try_from(header.len()).expect("a bundle header is far below 4 GiB");
        out.extend_from_slice(&header_len.to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.weights);
        for v in self.stats.means() {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for &v in self.stats.cholesky_factors() {
            match self.header.precision {
                Precision::F32 => out.extend_from_slice(&v.to_le_bytes()),
                Precision::F16 => out.extend_from_slice(&f16::from_f32(v).to_le_bytes()),
            }
        }
        let checksum = crc32fast::hash(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        debug_assert_eq!(out.len() as u64, total);
        out
    }

    /// Decodes and checks a bundle written by [`Bundle::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        let got = bytes.len() as u64;
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(BundleError::BadMagic);
        }
        if bytes.len() < PREAMBLE {
            return Err(BundleError::Truncated {
                expected: (PREAMBLE + CHECKSUM) as u64,
                got,
            });
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(BundleError::UnsupportedVersion {
                got: version,
                supported: VERSION,
            });
        }
        let total = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
        if got < total {
            return Err(BundleError::Truncated {
                expected: total,
                got,
            });
        }
        if got > total {
            return Err(BundleError::TrailingBytes { extra: got - total });
        }
        // `total` is the file's length from here on, so slicing stays in bounds.
        if bytes.len() < PREAMBLE + CHECKSUM {
            return Err(BundleError::Header(format!(
                "the file length {total} is too small for a bundle"
            )));
        }
        let (body, stored) = bytes.split_at(bytes.len() - CHECKSUM);
        let stored = u32::from_le_bytes(stored.try_into().expect("4 bytes"));
        let computed = crc32fast::hash(body);
        if stored != computed {
            return Err(BundleError::Checksum { stored, computed });
        }
        let header_len = u32::from_le_bytes(body[20..24].try_into().expect("4 bytes")) as usize;
        let rest = &body[PREAMBLE..];
        if header_len > rest.len() {
            return Err(BundleError::Header(format!(
                "the header claims {header_len} bytes, but only {} follow",
                rest.len()
            )));
        }
        let (header, mut data) = rest.split_at(header_len);
        let header: BundleHeader =
            serde_json::from_slice(header).map_err(|e| BundleError::Header(e.to_string()))?;
        let names: Vec<&str> = header.sections.iter().map(|s| s.name.as_str()).collect();
        if names != [WEIGHTS, MEAN, CHOLESKY] {
            return Err(BundleError::Header(format!(
                "the sections are {names:?}, expected [\"{WEIGHTS}\", \"{MEAN}\", \"{CHOLESKY}\"]"
            )));
        }
        let declared: u128 = header.sections.iter().map(|s| u128::from(s.bytes)).sum();
        if declared != data.len() as u128 {
            return Err(BundleError::SectionSize {
                section: "all".into(),
                expected: u64::try_from(declared).unwrap_or(u64::MAX),
                got: data.len() as u64,
            });
        }
        let mut take = |section: &Section| {
            let (head, tail) = data.split_at(section.bytes as usize);
            data = tail;
            head
        };
        let weights = take(&header.sections[0]);
        let mean_bytes = take(&header.sections[1]);
        let factor_bytes = take(&header.sections[2]);

        // The sizes the header's own numbers imply for the arrays, in u128
        // so that absurd header values cannot overflow.
        let d = header.channels.d() as u128;
        let positions = header.grid.height as u128 * header.grid.width as u128;
        let (encoding, width) = factor_encoding(header.precision);
        let expected = [
            (MEAN, "f32le", 4 * positions * d, mean_bytes.len()),
            (
                CHOLESKY,
                encoding,
                u128::from(width) * positions * (d * (d + 1) / 2),
                factor_bytes.len(),
            ),
        ];
        for ((name, want_encoding, want, got), section) in
            expected.into_iter().zip(&header.sections[1..])
        {
            if section.encoding != want_encoding {
                return Err(BundleError::Header(format!(
                    "the {name} section is encoded `{}`, expected `{want_encoding}` for {:?} precision",
                    section.encoding, header.precision
                )));
            }
            if want != got as u128 {
                return Err(BundleError::SectionSize {
                    section: name.into(),
                    expected: u64::try_from(want).unwrap_or(u64::MAX),
                    got: got as u64,
                });
            }
        }
        if header.sections[0].encoding != "safetensors" {
            return Err(BundleError::Header(format!(
                "the weights section is encoded `{}`, expected `safetensors`",
                header.sections[0].encoding
            )));
        }
        // Before anything the header sizes is built: the weights decide the
        // network, and every size in the header must follow from them.
        check_against_weights(&header, &StoredArchitecture::of_safetensors(weights)?)?;
        let weights = weights.to_vec();
        let mean = mean_bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let cholesky = match header.precision {
            Precision::F32 => factor_bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Precision::F16 => factor_bytes
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        };
        let stats = PadimStats::new(
            header.channels.clone(),
            header.grid,
            header.input,
            header.images,
            header.regulariser,
            mean,
            cholesky,
        )?;
        if !header.threshold.is_finite() {
            return Err(BundleError::Threshold(header.threshold));
        }
        Ok(Self {
            header,
            weights,
            stats,
        })
    }
}

/// Checks the header's backbone, channel subset, preprocessing and map sizes
/// against the network the weights section holds and against [`MAX_SIDE`],
/// so that a header with a valid checksum but invented numbers is refused
/// before they size anything.
fn check_against_weights(
    header: &BundleHeader,
    stored: &StoredArchitecture,
) -> Result<(), BundleError> {
    let backbone = &header.backbone;
    if !stored.trunk_is(backbone) {
        return Err(BundleError::Backbone {
            header: describe(backbone),
            weights: stored.to_string(),
        });
    }
    let channels = backbone.feature_channels()?;
    if header.channels.layer_channels() != &channels[..3] {
        return Err(BundleError::Header(format!(
            "the channel subset is drawn from layers of {:?} channels, but the weights' layer1–layer3 have {:?}",
            header.channels.layer_channels(),
            &channels[..3]
        )));
    }
    let preprocess = header.preprocess;
    for (field, side) in [("resize", preprocess.resize), ("crop", preprocess.crop)] {
        if side > MAX_SIDE {
            return Err(BundleError::Header(format!(
                "the preprocessing's {field} of {side} pixels is above the largest a bundle may use, {MAX_SIDE}"
            )));
        }
    }
    preprocess
        .check()
        .map_err(|e| BundleError::Header(e.to_string()))?;
    let crop = preprocess.crop as usize;
    let input = MapSize::new(crop, crop);
    // The stem's convolution and max pool each halve the side, rounding up.
    let grid = MapSize::new(crop.div_ceil(4), crop.div_ceil(4));
    for (what, got, want) in [("input", header.input, input), ("grid", header.grid, grid)] {
        if got != want {
            return Err(BundleError::Header(format!(
                "the {what} size is {got:?}, but a crop of {crop} pixels gives {want:?}"
            )));
        }
    }
    Ok(())
}

/// A backbone configuration as the messages name it.
fn describe(config: &ResNetConfig) -> String {
    match config.torchvision_name() {
        Some(name) => format!("{name} of width {}", config.width),
        None => format!(
            "ResNet with {:?} blocks {:?} of width {}",
            config.block, config.layers, config.width
        ),
    }
}
