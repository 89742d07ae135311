//! Raw header fields (`hxe.md` §2) and the image CRC (§3).

use crate::{HEADER_V1, HEADER_V2};

/// Offset of the stored CRC; the CRC covers the bytes before it.
const CRC_OFFSET: usize = 0x1C;

/// The fixed header fields, read without any validation.
///
/// [`Image::parse`](crate::Image::parse) is the validating loader; this type exists so
/// that tools can show what a rejected file claims to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Magic number (valid: [`MAGIC`](crate::MAGIC)).
    pub magic: u32,
    /// Format version (valid: 1 or 2).
    pub version: u16,
    /// Flag bits ([`flags`](crate::flags)).
    pub flags: u16,
    /// Byte offset of the first instruction in code.
    pub entry: u32,
    /// Bytes of code.
    pub code_len: u32,
    /// Bytes of rodata.
    pub ro_len: u32,
    /// Bytes of zeroed memory after rodata.
    pub bss_size: u32,
    /// Required-capability mask.
    pub req_caps: u32,
    /// Stored CRC.
    pub crc32: u32,
    /// The version-2 extension, when `version` is 2 and the file holds all 96 bytes.
    pub v2: Option<HeaderV2>,
}

/// The version-2 header fields at 0x20..0x60.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderV2 {
    /// The raw, NUL-padded application name field.
    pub app_name: [u8; 32],
    /// File offset of the metadata table; 0 = none.
    pub meta_offset: u32,
    /// Number of 16-byte metadata table entries.
    pub meta_count: u32,
    /// The reserved bytes 0x48..0x5F (valid: all zero).
    pub reserved: [u8; 24],
}

impl Header {
    /// Read the header fields of `bytes`; `None` if the file is shorter than 32 bytes.
    pub fn read(bytes: &[u8]) -> Option<Header> {
        let fixed: &[u8; HEADER_V1] = bytes.get(..HEADER_V1)?.try_into().ok()?;
        let version = be16(fixed, 0x04);
        let v2 = match bytes.get(..HEADER_V2) {
            Some(ext) if version == 2 => Some(HeaderV2 {
                app_name: array(ext, 0x20),
                meta_offset: be32(ext, 0x40),
                meta_count: be32(ext, 0x44),
                reserved: array(ext, 0x48),
            }),
            _ => None,
        };
        Some(Header {
            magic: be32(fixed, 0x00),
            version,
            flags: be16(fixed, 0x06),
            entry: be32(fixed, 0x08),
            code_len: be32(fixed, 0x0C),
            ro_len: be32(fixed, 0x10),
            bss_size: be32(fixed, 0x14),
            req_caps: be32(fixed, 0x18),
            crc32: be32(fixed, CRC_OFFSET),
            v2,
        })
    }

    /// Header size implied by the version: 96 for version 2, else 32.
    pub fn size(&self) -> usize {
        header_size(self.version)
    }
}

/// Header size for a format version: 96 for version 2, else 32.
pub(crate) fn header_size(version: u16) -> usize {
    if version == 2 { HEADER_V2 } else { HEADER_V1 }
}

/// The CRC of an image per `hxe.md` §3: CRC-32/ISO-HDLC over bytes `[0, 0x1C)` followed
/// by bytes `[header_size, end)`. Parts beyond the end of `bytes` count as empty.
pub fn compute_crc(bytes: &[u8], header_size: usize) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(bytes.get(..CRC_OFFSET).unwrap_or(bytes));
    hasher.update(bytes.get(header_size..).unwrap_or(&[]));
    hasher.finalize()
}

/// Big-endian u16 at `at`. Callers pass in-bounds constant offsets of header arrays.
pub(crate) fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(array(bytes, at))
}

/// Big-endian u32 at `at`. Callers pass in-bounds constant offsets of header arrays.
pub(crate) fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(array(bytes, at))
}

/// `N` bytes at `at`, zero-filled where `bytes` ends early (never panics).
pub(crate) fn array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    let available = bytes.get(at..).unwrap_or(&[]);
    let n = available.len().min(N);
    out[..n].copy_from_slice(&available[..n]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        // CRC-32/ISO-HDLC check value of "123456789" (hxe.md §3).
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(b"123456789");
        assert_eq!(hasher.finalize(), 0xCBF4_3926);
    }

    #[test]
    fn crc_skips_the_crc_field_and_the_v2_extension() {
        let mut image = vec![0u8; 100];
        image[96..].copy_from_slice(&[0x25, 0, 0, 0]);
        let before = compute_crc(&image, HEADER_V2);
        image[0x1C..0x60].fill(0xFF);
        assert_eq!(compute_crc(&image, HEADER_V2), before);
        image[0x1B] ^= 1;
        assert_ne!(compute_crc(&image, HEADER_V2), before);
    }

    #[test]
    fn short_inputs_do_not_panic() {
        assert_eq!(Header::read(&[0u8; 31]), None);
        let header = Header::read(&[0u8; 32]).expect("32 bytes hold a v1 header");
        assert_eq!(header.v2, None);
        assert_eq!(
            compute_crc(&[1, 2, 3], HEADER_V2),
            compute_crc(&[1, 2, 3], HEADER_V1)
        );
    }

    #[test]
    fn v2_extension_needs_version_2_and_96_bytes() {
        let mut bytes = vec![0u8; 96];
        bytes[5] = 2;
        bytes[0x47] = 3;
        let header = Header::read(&bytes).expect("header");
        assert_eq!(header.v2.as_ref().map(|v2| v2.meta_count), Some(3));
        assert_eq!(header.size(), HEADER_V2);
        assert_eq!(Header::read(&bytes[..95]).and_then(|h| h.v2), None);
        bytes[5] = 1;
        assert_eq!(Header::read(&bytes).and_then(|h| h.v2), None);
    }
}
