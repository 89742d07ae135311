//! The validating loader (`hxe.md` §4) and its output (§4.1).

use crate::error::{LoadError, PlacementError};
use crate::header::{Header, compute_crc};
use crate::metadata::{Metadata, parse_table};
use crate::{HEADER_V1, HEADER_V2, MAGIC, MAX_SECTION_SIZE, RODATA_BASE, flags};

/// A loaded, validated `.hxe` image (`hxe.md` §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Format version: 1 or 2.
    pub version: u16,
    /// Header flags, all 16 bits as stored ([`flags`]).
    pub flags: u16,
    /// Byte offset of the first instruction in code.
    pub entry: u32,
    /// Bytes of zeroed memory placed after rodata.
    pub bss_size: u32,
    /// Required-capability mask (not interpreted by the loader).
    pub req_caps: u32,
    /// The CRC stored in the header (equal to the computed one after a successful parse).
    pub crc32: u32,
    /// The application name (`hxe.md` §7.1): the ASCII text before the first NUL,
    /// trimmed; `None` when empty and for version-1 images.
    pub app_name: Option<String>,
    /// Code bytes, big-endian words.
    pub code: Vec<u8>,
    /// Rodata bytes, verbatim.
    pub rodata: Vec<u8>,
    /// The metadata table and the values, commands and mailboxes it declares.
    pub metadata: Metadata,
    /// Length of the whole file in bytes.
    pub file_len: usize,
}

impl Image {
    /// Validate and decode an image, running the checks of `hxe.md` §4 in order; the
    /// first failing check is the error.
    pub fn parse(bytes: &[u8]) -> Result<Image, LoadError> {
        let len = bytes.len() as u64;
        let header = Header::read(bytes).ok_or(LoadError::TooSmall)?;
        if header.magic != MAGIC {
            return Err(LoadError::BadMagic(header.magic));
        }
        if !matches!(header.version, 1 | 2) {
            return Err(LoadError::UnsupportedVersion(header.version));
        }
        let v2 = match header.version {
            2 => Some(header.v2.as_ref().ok_or(LoadError::HeaderTruncated)?),
            _ => None,
        };
        let mut app_name = None;
        if let Some(v2) = v2 {
            if v2.reserved.iter().any(|&b| b != 0) {
                return Err(LoadError::ReservedNonZero);
            }
            let text = v2.app_name.split(|&b| b == 0).next().unwrap_or(&[]);
            if !text.is_ascii() {
                return Err(LoadError::AppNameNotAscii);
            }
            app_name = std::str::from_utf8(text)
                .ok()
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned);
        }
        if header.code_len > MAX_SECTION_SIZE {
            return Err(LoadError::CodeTooLarge);
        }
        if header.ro_len > MAX_SECTION_SIZE {
            return Err(LoadError::RodataTooLarge);
        }
        if header.bss_size > MAX_SECTION_SIZE {
            return Err(LoadError::BssTooLarge);
        }
        if header.code_len % 4 != 0 {
            return Err(LoadError::CodeUnaligned);
        }
        if header.entry % 4 != 0 {
            return Err(LoadError::EntryUnaligned);
        }
        let header_size = header.size();
        // Both lengths are ≤ 0x10000 here, so these sums cannot overflow.
        let code_start = header_size;
        let code_end = code_start + header.code_len as usize;
        let ro_end = code_end + header.ro_len as usize;
        if ro_end as u64 > len {
            return Err(LoadError::SectionsTruncated);
        }
        if header.entry >= header.code_len {
            return Err(LoadError::EntryOutsideCode);
        }
        if let Some(v2) = v2
            && v2.meta_offset != 0
            && u64::from(v2.meta_offset) < ro_end as u64
        {
            return Err(LoadError::MetadataOverlap);
        }
        let computed = compute_crc(bytes, header_size);
        if computed != header.crc32 {
            return Err(LoadError::CrcMismatch {
                stored: header.crc32,
                computed,
            });
        }
        let metadata = match v2 {
            Some(v2) if v2.meta_offset != 0 && v2.meta_count != 0 => {
                parse_table(bytes, v2.meta_offset, v2.meta_count)?
            }
            _ => Metadata::default(),
        };
        let code = bytes
            .get(code_start..code_end)
            .ok_or(LoadError::SectionsTruncated)?;
        let rodata = bytes
            .get(code_end..ro_end)
            .ok_or(LoadError::SectionsTruncated)?;
        Ok(Image {
            version: header.version,
            flags: header.flags,
            entry: header.entry,
            bss_size: header.bss_size,
            req_caps: header.req_caps,
            crc32: header.crc32,
            app_name,
            code: code.to_vec(),
            rodata: rodata.to_vec(),
            metadata,
            file_len: bytes.len(),
        })
    }

    /// Whether several instances may run: always for version 1, flag bit 1 for version 2
    /// (`hxe.md` §2.3).
    pub fn allow_multiple(&self) -> bool {
        self.version == 1 || self.flags & flags::ALLOW_MULTIPLE != 0
    }

    /// Flag bit 0 (reported to tools only).
    pub fn manifest_present(&self) -> bool {
        self.flags & flags::MANIFEST_PRESENT != 0
    }

    /// The code as 32-bit words.
    pub fn code_words(&self) -> impl Iterator<Item = u32> + '_ {
        self.code
            .chunks_exact(4)
            .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    }

    /// Header size: 32 for version 1, 96 for version 2.
    pub fn header_size(&self) -> usize {
        if self.version == 2 {
            HEADER_V2
        } else {
            HEADER_V1
        }
    }

    /// Placement check of `hxe.md` §4: rodata and bss, placed at 0x4000, must end within
    /// `limit` (the task's window size, or its `stack_limit` for executive tasks).
    pub fn check_fits(&self, limit: u32) -> Result<(), PlacementError> {
        let required = u64::from(RODATA_BASE) + self.rodata.len() as u64 + u64::from(self.bss_size);
        if required > u64::from(limit) {
            return Err(PlacementError { required, limit });
        }
        Ok(())
    }
}
