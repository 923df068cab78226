use serde::{Deserialize, Serialize};

/// Height and width of a feature grid, a score map or an input image, in
/// positions or pixels. Maps are stored row-major: index `y * width + x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MapSize {
    pub height: usize,
    pub width: usize,
}

impl MapSize {
    pub const fn new(height: usize, width: usize) -> Self {
        Self { height, width }
    }

    /// `height * width`, or `None` where that overflows `usize`.
    pub fn checked_area(self) -> Option<usize> {
        self.height.checked_mul(self.width)
    }

    pub(crate) fn is_empty(self) -> bool {
        self.height == 0 || self.width == 0
    }
}

impl std::fmt::Display for MapSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{} (height x width)", self.height, self.width)
    }
}
