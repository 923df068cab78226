//! Decoding images and masks from bytes: JPEG and PNG, 8- and 16-bit, gray,
//! gray+alpha, RGB and RGBA, always to RGB (alpha is dropped, gray is
//! replicated). Bytes in, pixels out, so the browser decodes dropped files with
//! the same code as the trainer.
//!
//! A decompression bomb (a small file whose header claims a huge image) is
//! refused from its header, before any pixel buffer is allocated.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use thiserror::Error;

/// The largest image the readers accept. VisA's images are about 1.5k px wide;
/// the defaults leave an order of magnitude of headroom and cap one decoded
/// RGB f32 image at 1.2 GB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimit {
    /// The most pixels along either side.
    pub max_side: u32,
    /// The most pixels in the whole image (width × height).
    pub max_pixels: u64,
}

impl Default for SizeLimit {
    fn default() -> Self {
        SizeLimit {
            max_side: 16_384,
            max_pixels: 100_000_000,
        }
    }
}

impl SizeLimit {
    /// Checks a header's dimensions against the limit.
    pub fn check(&self, width: u32, height: u32) -> Result<(), DecodeError> {
        let pixels = u64::from(width) * u64::from(height);
        if width > self.max_side || height > self.max_side || pixels > self.max_pixels {
            return Err(DecodeError::TooLarge {
                width,
                height,
                max_side: self.max_side,
                max_pixels: self.max_pixels,
            });
        }
        if width == 0 || height == 0 {
            return Err(DecodeError::Empty { width, height });
        }
        Ok(())
    }
}

/// The two formats VisA and MVTec AD use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
        })
    }
}

impl Format {
    /// Recognises a file by its signature, not its name: VisA names its JPEGs
    /// `.JPG`, and a renamed file should still decode.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else {
            None
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Format::Jpeg => ImageFormat::Jpeg,
            Format::Png => ImageFormat::Png,
        }
    }
}

/// Why bytes do not decode to an image. The caller names the file.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("not a JPEG or PNG file (the first bytes are {0})")]
    UnknownFormat(String),
    #[error("the {format} header cannot be read: {reason}")]
    BadHeader { format: Format, reason: String },
    #[error("the header says {width}x{height} pixels, beyond the limit of {max_side} px per side and {max_pixels} pixels in all; refused before decoding (a corrupt file or a decompression bomb)")]
    TooLarge {
        width: u32,
        height: u32,
        max_side: u32,
        max_pixels: u64,
    },
    #[error("the header says {width}x{height} pixels: an image needs at least one pixel")]
    Empty { width: u32, height: u32 },
    #[error("the JPEG data ends before its end-of-image marker: the file is truncated")]
    TruncatedJpeg,
    #[error("the {format} data is corrupt or truncated: {reason}")]
    Corrupt { format: Format, reason: String },
}

/// An RGB image, rows top to bottom, pixels interleaved (`[r, g, b, r, ...]`).
#[derive(Debug, Clone, PartialEq)]
pub struct RgbImage<T> {
    pub width: u32,
    pub height: u32,
    /// `3 · width · height` values.
    pub pixels: Vec<T>,
}

/// A binary mask: `true` marks an anomalous pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    pub width: u32,
    pub height: u32,
    /// `width · height` values, row by row.
    pub pixels: Vec<bool>,
}

impl Mask {
    /// Whether any pixel is anomalous.
    pub fn any(&self) -> bool {
        self.pixels.iter().any(|&p| p)
    }
}

/// Reads only the header: the format and the dimensions, checked against
/// `limit`. The header is parsed here rather than by the decoder, so nothing
/// sized by the claimed dimensions is allocated before the check.
pub fn read_dimensions(bytes: &[u8], limit: &SizeLimit) -> Result<(Format, u32, u32), DecodeError> {
    let format = Format::sniff(bytes).ok_or_else(|| {
        DecodeError::UnknownFormat(
            bytes
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
        )
    })?;
    let (width, height) = match format {
        Format::Png => png_size(bytes),
        Format::Jpeg => jpeg_size(bytes),
    }
    .ok_or_else(|| DecodeError::BadHeader {
        format,
        reason: match format {
            Format::Png => "no IHDR chunk at the start of the file".into(),
            Format::Jpeg => "no frame header (SOF marker) before the image data".into(),
        },
    })?;
    limit.check(width, height)?;
    Ok((format, width, height))
}

/// Decodes the whole image and drops the pixels: the checker's test that a
/// file is complete, returning its format and dimensions.
pub fn verify(bytes: &[u8], limit: &SizeLimit) -> Result<(Format, u32, u32), DecodeError> {
    let (format, image) = decode(bytes, limit)?;
    Ok((format, image.width(), image.height()))
}

/// Decodes to RGB with values in [0, 1]; 16-bit files keep their precision.
pub fn decode_rgb_f32(bytes: &[u8], limit: &SizeLimit) -> Result<RgbImage<f32>, DecodeError> {
    let image = decode(bytes, limit)?.1.into_rgb32f();
    Ok(RgbImage {
        width: image.width(),
        height: image.height(),
        pixels: image.into_raw(),
    })
}

/// Decodes to 8-bit RGB (16-bit files are rounded).
pub fn decode_rgb8(bytes: &[u8], limit: &SizeLimit) -> Result<RgbImage<u8>, DecodeError> {
    let image = decode(bytes, limit)?.1.into_rgb8();
    Ok(RgbImage {
        width: image.width(),
        height: image.height(),
        pixels: image.into_raw(),
    })
}

/// Decodes a mask: a pixel is anomalous when any colour channel is not 0, so
/// VisA's defect-class ids (0 = background) and MVTec AD's 0/255 masks both
/// binarise correctly. Alpha is ignored. A palette PNG is expanded to its
/// colours first, so its background entry must be black, as in VisA.
pub fn decode_mask(bytes: &[u8], limit: &SizeLimit) -> Result<Mask, DecodeError> {
    let (_, image) = decode(bytes, limit)?;
    let (width, height) = (image.width(), image.height());
    let pixels = match image {
        DynamicImage::ImageLuma8(gray) => gray.into_raw().into_iter().map(|v| v != 0).collect(),
        DynamicImage::ImageLumaA8(gray) => gray.chunks_exact(2).map(|p| p[0] != 0).collect(),
        DynamicImage::ImageLuma16(gray) => gray.into_raw().into_iter().map(|v| v != 0).collect(),
        DynamicImage::ImageLumaA16(gray) => gray.chunks_exact(2).map(|p| p[0] != 0).collect(),
        // Every other layout widens to 16-bit RGB without turning a non-zero
        // channel into zero (8-bit v becomes 257·v).
        other => other
            .into_rgb16()
            .chunks_exact(3)
            .map(|p| p.iter().any(|&v| v != 0))
            .collect(),
    };
    Ok(Mask {
        width,
        height,
        pixels,
    })
}

/// Decodes after checking the header, with the decoder's own allocation limit
/// as a second guard.
fn decode(bytes: &[u8], limit: &SizeLimit) -> Result<(Format, DynamicImage), DecodeError> {
    let (format, _, _) = read_dimensions(bytes, limit)?;
    if format == Format::Jpeg && !jpeg_is_complete(bytes) {
        return Err(DecodeError::TruncatedJpeg);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut limits = Limits::default();
    limits.max_image_width = Some(limit.max_side);
    limits.max_image_height = Some(limit.max_side);
    // The decoded buffer (at most 16-bit RGBA) plus the decoder's working set.
    limits.max_alloc = Some(limit.max_pixels.saturating_mul(16));
    reader.limits(limits);
    let image = reader.decode().map_err(|e| DecodeError::Corrupt {
        format,
        reason: e.to_string(),
    })?;
    Ok((format, image))
}

/// A PNG's size from its first chunk, which the format requires to be IHDR.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let word = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    Some((word(16)?, word(20)?))
}

/// A JPEG's size from its frame header (SOF0–SOF15 except DHT, JPG and DAC),
/// found by walking the marker segments from the start.
fn jpeg_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2; // after SOI
    loop {
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        let length = usize::from(*bytes.get(at + 2)?) << 8 | usize::from(*bytes.get(at + 3)?);
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            // Segment: length (2), precision (1), height (2), width (2).
            let word = |offset: usize| -> Option<u32> {
                let high = *bytes.get(at + offset)?;
                let low = *bytes.get(at + offset + 1)?;
                Some(u32::from(high) << 8 | u32::from(low))
            };
            return Some((word(7)?, word(5)?));
        }
        if marker == 0xDA || marker == 0xD9 {
            return None; // image data or the end before any frame header
        }
        at += 2 + length;
    }
}

/// Whether a JPEG's marker structure runs to its end-of-image marker.
///
/// The JPEG decoder is lenient: it fills a truncated scan with grey and
/// reports success. So the segments are walked here: a marker segment carries
/// its length; inside entropy-coded data a 0xFF byte is either stuffed
/// (`FF 00`), a restart marker (`FF D0`–`FF D7`) or the next marker. Thumbnails
/// embedded in APPn segments are skipped by length, so their own end markers
/// do not count.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    const EOI: u8 = 0xD9;
    const SOS: u8 = 0xDA;
    let mut at = 2; // after SOI
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let marker = match (bytes.get(at), bytes.get(at + 1)) {
            (Some(0xFF), Some(&marker)) => marker,
            _ => return false,
        };
        at += 2;
        if marker == EOI {
            return true;
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            continue; // markers without a length
        }
        let length = match (bytes.get(at), bytes.get(at + 1)) {
            (Some(&high), Some(&low)) => usize::from(high) << 8 | usize::from(low),
            _ => return false,
        };
        at += length;
        if marker == SOS {
            // Skip entropy-coded data up to the next real marker.
            loop {
                match (bytes.get(at), bytes.get(at + 1)) {
                    (Some(0xFF), Some(0x00 | 0xD0..=0xD7)) => at += 2,
                    (Some(0xFF), Some(_)) => break,
                    (Some(_), _) => at += 1,
                    (None, _) => return false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, LumaA, Rgb, Rgba};

    fn png<P: image::PixelWithColorType>(image: &ImageBuffer<P, Vec<P::Subpixel>>) -> Vec<u8>
    where
        [P::Subpixel]: image::EncodableLayout,
    {
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let image = ImageBuffer::from_fn(width, height, |x, y| {
            Rgb([(x * 10) as u8, (y * 10) as u8, 128])
        });
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Jpeg)
            .unwrap();
        bytes
    }

    const NO_LIMIT: SizeLimit = SizeLimit {
        max_side: u32::MAX,
        max_pixels: u64::MAX,
    };

    #[test]
    fn decodes_every_png_layout_to_the_same_rgb() {
        // One 2x1 image, pixel values 0 and 255 (8-bit) or 0 and 65535.
        let gray8 = ImageBuffer::from_raw(2, 1, vec![0u8, 255]).unwrap();
        let gray16: ImageBuffer<Luma<u16>, _> =
            ImageBuffer::from_raw(2, 1, vec![0, 65535]).unwrap();
        let gray_alpha: ImageBuffer<LumaA<u8>, _> =
            ImageBuffer::from_raw(2, 1, vec![0, 9, 255, 9]).unwrap();
        let rgb16: ImageBuffer<Rgb<u16>, _> =
            ImageBuffer::from_raw(2, 1, vec![0, 0, 0, 65535, 65535, 65535]).unwrap();
        let rgba8: ImageBuffer<Rgba<u8>, _> =
            ImageBuffer::from_raw(2, 1, vec![0, 0, 0, 0, 255, 255, 255, 7]).unwrap();
        let expected = vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        for bytes in [
            png::<Luma<u8>>(&gray8),
            png(&gray16),
            png(&gray_alpha),
            png(&rgb16),
            png(&rgba8),
        ] {
            let image = decode_rgb_f32(&bytes, &NO_LIMIT).unwrap();
            assert_eq!((image.width, image.height), (2, 1));
            assert_eq!(image.pixels, expected);
            let image = decode_rgb8(&bytes, &NO_LIMIT).unwrap();
            assert_eq!(image.pixels, [0, 0, 0, 255, 255, 255]);
        }
    }

    #[test]
    fn sixteen_bit_keeps_its_precision() {
        // 257 / 65535 = 1/255 exactly; 1 / 65535 is below 8-bit resolution.
        let gray16: ImageBuffer<Luma<u16>, _> = ImageBuffer::from_raw(2, 1, vec![1, 257]).unwrap();
        let image = decode_rgb_f32(&png(&gray16), &NO_LIMIT).unwrap();
        // Within f32 rounding of the conversion.
        assert!((image.pixels[0] - 1.0 / 65535.0).abs() < 1e-9);
        assert!((image.pixels[3] - 1.0 / 255.0).abs() < 1e-8);
    }

    #[test]
    fn masks_binarise_on_any_non_zero_value() {
        // Class ids 0, 1, 2, 255: only 0 is background.
        let ids = ImageBuffer::<Luma<u8>, _>::from_raw(4, 1, vec![0u8, 1, 2, 255]).unwrap();
        let mask = decode_mask(&png(&ids), &NO_LIMIT).unwrap();
        assert_eq!(mask.pixels, [false, true, true, true]);
        // An RGB mask whose only non-zero channel is blue = 1 still counts.
        let rgb = ImageBuffer::<Rgb<u8>, _>::from_raw(2, 1, vec![0, 0, 0, 0, 0, 1]).unwrap();
        let mask = decode_mask(&png(&rgb), &NO_LIMIT).unwrap();
        assert_eq!(mask.pixels, [false, true]);
        assert!(mask.any());
    }

    #[test]
    fn jpeg_decodes_and_truncation_is_caught() {
        let bytes = jpeg(16, 8);
        let (format, width, height) = read_dimensions(&bytes, &NO_LIMIT).unwrap();
        assert_eq!((format, width, height), (Format::Jpeg, 16, 8));
        let image = decode_rgb8(&bytes, &NO_LIMIT).unwrap();
        assert_eq!(image.pixels.len(), 16 * 8 * 3);
        assert!(jpeg_is_complete(&bytes));
        let cut = &bytes[..bytes.len() - 10];
        assert_eq!(decode_rgb8(cut, &NO_LIMIT), Err(DecodeError::TruncatedJpeg));
    }

    #[test]
    fn the_limit_is_checked_on_both_sides_and_the_area() {
        let limit = SizeLimit {
            max_side: 100,
            max_pixels: 5_000,
        };
        assert!(limit.check(100, 50).is_ok());
        assert!(limit.check(101, 1).is_err());
        assert!(limit.check(1, 101).is_err());
        assert!(limit.check(71, 71).is_err()); // 5,041 pixels
        assert_eq!(
            limit.check(0, 5),
            Err(DecodeError::Empty {
                width: 0,
                height: 5
            })
        );
        let default = SizeLimit::default();
        assert!(default.check(16_384, 6_000).is_ok());
        assert!(default.check(16_385, 10).is_err());
        assert!(default.check(10_001, 10_000).is_err());
    }

    #[test]
    fn unknown_bytes_are_named() {
        assert_eq!(
            decode_rgb8(b"GIF89a", &NO_LIMIT),
            Err(DecodeError::UnknownFormat("47 49 46 38 39 61".into()))
        );
    }
}
