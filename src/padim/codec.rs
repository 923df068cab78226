//! The compact binary form of [`PadimStats`], for files and browser bundles.
//!
//! Little-endian throughout:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `SPDPADIM` |
//! | 4 | format version, u32 = 1 |
//! | 4 + 4·L | layer count L, then each layer's channel count (u32) |
//! | 4 + 4·d | d, then the channel indices (u32) |
//! | 16 | grid height, grid width, input height, input width (u32) |
//! | 8 | number of training images (u64) |
//! | 8 | covariance regulariser (f64) |
//! | 4·P·d | means, position-major (f32) |
//! | 4·P·d(d+1)/2 | packed Cholesky factors, position-major (f32) |
//!
//! with P = grid height × grid width. Decoding checks every length before
//! reading or allocating, then every value, so malformed bytes give an error,
//! never a panic or a huge allocation.

use super::stats::value_counts;
use super::{ChannelSelection, MapSize, PadimError, PadimStats};

const MAGIC: &[u8; 8] = b"SPDPADIM";
const VERSION: u32 = 1;

impl PadimStats {
    /// Encodes the statistics in the binary format above.
    pub fn to_bytes(&self) -> Vec<u8> {
        let selection = self.selection();
        let floats = self.means().len() + self.cholesky_factors().len();
        let mut out = Vec::with_capacity(64 + 4 * (selection.d() + floats));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        // Counts and indices fit u32: ChannelSelection checks the channel total.
        put_u32(&mut out, selection.layer_channels().len());
        for &c in selection.layer_channels() {
            put_u32(&mut out, c);
        }
        put_u32(&mut out, selection.d());
        for &i in selection.indices() {
            put_u32(&mut out, i);
        }
        for v in [
            self.grid().height,
            self.grid().width,
            self.input().height,
            self.input().width,
        ] {
            put_u32(&mut out, v);
        }
        out.extend_from_slice(&self.images().to_le_bytes());
        out.extend_from_slice(&self.regulariser().to_le_bytes());
        for v in self.means().iter().chain(self.cholesky_factors()) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Decodes statistics written by [`PadimStats::to_bytes`], checking the
    /// header, every length and every value.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PadimError> {
        let mut r = Reader { bytes };
        if r.take(MAGIC.len() as u128, "magic header")
            .map_or(true, |m| m != MAGIC)
        {
            return Err(PadimError::BadMagic);
        }
        let version = r.u32("format version")?;
        if version != VERSION {
            return Err(PadimError::UnsupportedVersion {
                got: version,
                supported: VERSION,
            });
        }
        let layers = r.u32("layer count")? as usize;
        let layer_channels = r.u32s(layers, "layer channel counts")?;
        let d = r.u32("d")? as usize;
        let indices = r.u32s(d, "channel indices")?;
        let selection = ChannelSelection::from_indices(&layer_channels, indices)?;
        let grid = MapSize::new(
            r.u32("grid height")? as usize,
            r.u32("grid width")? as usize,
        );
        let input = MapSize::new(
            r.u32("input height")? as usize,
            r.u32("input width")? as usize,
        );
        // Checked before the lengths that depend on them, so that an empty
        // grid is reported as such rather than as stray bytes.
        for size in [grid, input] {
            if size.is_empty() {
                return Err(PadimError::EmptySize { size });
            }
        }
        let images = u64::from_le_bytes(r.array("number of images")?);
        let regulariser = f64::from_le_bytes(r.array("regulariser")?);
        let (mean_len, factor_len) = value_counts(grid, d)?;
        let mean = r.f32s(mean_len, "means")?;
        let cholesky = r.f32s(factor_len, "Cholesky factors")?;
        if !r.bytes.is_empty() {
            return Err(PadimError::TrailingBytes {
                extra: r.bytes.len(),
            });
        }
        PadimStats::new(selection, grid, input, images, regulariser, mean, cholesky)
    }
}

fn put_u32(out: &mut Vec<u8>, v: usize) {
    let v = u32::try_from(v).expect("PaDiM sizes fit u32 by construction");
    out.extend_from_slice(&v.to_le_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, needed: u128, what: &'static str) -> Result<&'a [u8], PadimError> {
        let truncated = PadimError::Truncated {
            what,
            needed,
            remaining: self.bytes.len(),
        };
        let n = usize::try_from(needed).map_err(|_| truncated.clone())?;
        if n > self.bytes.len() {
            return Err(truncated);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], PadimError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u128, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, PadimError> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u32s(&mut self, count: usize, what: &'static str) -> Result<Vec<usize>, PadimError> {
        let bytes = self.take(4 * count as u128, what)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .collect())
    }

    fn f32s(&mut self, count: usize, what: &'static str) -> Result<Vec<f32>, PadimError> {
        let bytes = self.take(4 * count as u128, what)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}
