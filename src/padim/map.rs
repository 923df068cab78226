use super::{MapSize, PadimError};

/// A single-channel map of scores, row-major (`values[y * width + x]`): a
/// grid of Mahalanobis distances, or an anomaly map at the input size.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreMap {
    size: MapSize,
    values: Vec<f32>,
}

impl ScoreMap {
    /// Wraps `values` (row-major) as a map of `size`.
    pub fn new(size: MapSize, values: Vec<f32>) -> Result<Self, PadimError> {
        if size.is_empty() {
            return Err(PadimError::EmptySize { size });
        }
        let expected = size
            .checked_area()
            .ok_or(PadimError::SizeOverflow { what: "the map" })?;
        if values.len() != expected {
            return Err(PadimError::MapLength {
                size,
                expected,
                got: values.len(),
            });
        }
        Ok(Self { size, values })
    }

    /// For maps built here, whose length is right by construction.
    pub(crate) fn from_parts(size: MapSize, values: Vec<f32>) -> Self {
        debug_assert_eq!(Some(values.len()), size.checked_area());
        Self { size, values }
    }

    pub fn size(&self) -> MapSize {
        self.size
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    pub fn into_values(self) -> Vec<f32> {
        self.values
    }

    /// The largest value: PaDiM's image-level anomaly score when this is the
    /// smoothed anomaly map.
    pub fn max(&self) -> f32 {
        self.values
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max)
    }
}
