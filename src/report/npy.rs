//! NumPy's `.npy` format (version 1.0) for a 2-D `f32` array, so a saved
//! anomaly map opens with `numpy.load` losslessly: the magic `\x93NUMPY`,
//! version 1.0, a little-endian u16 header length, the header dictionary
//! padded with spaces to a multiple of 64 bytes ending in a newline, then
//! the values row by row, little-endian.

/// `values` (`rows × columns`, row-major) as `.npy` bytes.
pub fn encode_npy(values: &[f32], rows: usize, columns: usize) -> Vec<u8> {
    assert_eq!(
        values.len(),
        rows * columns,
        "a map has rows × columns values"
    );
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {columns}), }}");
    // 10 bytes of magic, version and length come before the header.
    let padded = (10 + header.len() + 1).div_ceil(64) * 64;
    header.push_str(&" ".repeat(padded - 10 - header.len() - 1));
    header.push('\n');
    let mut bytes = Vec::with_capacity(padded + 4 * values.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for value in values {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_of_numpy_save() {
        // numpy.save of np.array([[1.0, -2.5, 0.0]], dtype='<f4') writes this
        // 128-byte file: a 118-byte header, then 12 bytes of values.
        let bytes = encode_npy(&[1.0, -2.5, 0.0], 1, 3);
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }";
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 118);
        assert_eq!(&bytes[10..10 + header.len()], header.as_bytes());
        assert_eq!(bytes[127], b'\n');
        assert_eq!(bytes.len(), 128 + 12);
        assert_eq!(&bytes[128..132], &1.0f32.to_le_bytes());
    }
}
