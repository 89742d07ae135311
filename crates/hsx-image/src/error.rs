//! Error types. Every `Display` text is the exact message `hxe.md` specifies.

use thiserror::Error;

/// Why [`Image::parse`](crate::Image::parse) rejected a file (`hxe.md` §4, in check order).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoadError {
    /// Check 1: the file is shorter than a version-1 header.
    #[error(".hxe file too small")]
    TooSmall,
    /// Check 2: the magic number is not `"HSXE"`.
    #[error("Bad magic 0x{0:08X}")]
    BadMagic(u32),
    /// Check 3: the version is neither 1 nor 2.
    #[error("Unsupported HSXE version 0x{0:04X}")]
    UnsupportedVersion(u16),
    /// Check 4: a version-2 file shorter than its header.
    #[error("HXE header truncated (v2 requires 96 bytes)")]
    HeaderTruncated,
    /// Check 5: a reserved byte at 0x48..0x5F is not zero.
    #[error("Reserved HXE header bytes must be zero")]
    ReservedNonZero,
    /// Check 6: `app_name` holds a byte ≥ 0x80 before its first NUL.
    #[error("HXE app_name must be ASCII")]
    AppNameNotAscii,
    /// Check 7: `code_len` > 0x10000.
    #[error("Code section exceeds VM capacity")]
    CodeTooLarge,
    /// Check 8: `ro_len` > 0x10000.
    #[error("RODATA section exceeds VM capacity")]
    RodataTooLarge,
    /// Check 9: `bss_size` > 0x10000.
    #[error("BSS size exceeds VM capacity")]
    BssTooLarge,
    /// Check 10: `code_len` is not a multiple of 4.
    #[error("Code section must be 4-byte aligned")]
    CodeUnaligned,
    /// Check 11: `entry` is not a multiple of 4.
    #[error("Entry address must be 4-byte aligned")]
    EntryUnaligned,
    /// Check 12: code and rodata run past the end of the file.
    #[error(".hxe truncated: sections exceed file length")]
    SectionsTruncated,
    /// Check 13: `entry` ≥ `code_len`.
    #[error("Entry point outside code section")]
    EntryOutsideCode,
    /// Check 14: the metadata table starts inside the header, code or rodata.
    #[error("Metadata table overlaps code or rodata sections")]
    MetadataOverlap,
    /// Check 15: the CRC computed over the file differs from the stored one.
    #[error("CRC mismatch: file=0x{stored:08X} calc=0x{computed:08X}")]
    CrcMismatch {
        /// CRC stored at 0x1C.
        stored: u32,
        /// CRC computed per `hxe.md` §3.
        computed: u32,
    },
    /// Check 16: the metadata table runs past the end of the file.
    #[error("metadata table outside HXE payload bounds")]
    MetadataTableOutOfBounds,
    /// Check 17: metadata section `index` starts inside the header or ends past the file.
    #[error("metadata section {index} exceeds HXE length")]
    SectionOutOfBounds {
        /// Index of the entry in the metadata table (0-based).
        index: u32,
    },
    /// Check 18: the content of metadata section `index` is malformed (`hxe.md` §5).
    /// Displays exactly the §5 message of `error`.
    #[error("{error}")]
    Metadata {
        /// Index of the entry in the metadata table (0-based).
        index: u32,
        /// What is wrong with the section.
        error: MetadataError,
    },
}

/// A malformed metadata section (`hxe.md` §5).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetadataError {
    /// §5.2: a string offset at or past the end of its section.
    #[error("metadata string offset {offset} out of range (size={size})")]
    StringOffsetOutOfRange {
        /// The offset, relative to the section start.
        offset: u32,
        /// The section size.
        size: u32,
    },
    /// §5.2: no NUL between a string's offset and the section end.
    #[error("metadata string is not null-terminated")]
    StringNotTerminated,
    /// §5.2: a string that is not valid UTF-8.
    #[error("metadata string is not valid UTF-8")]
    StringNotUtf8,
    /// §5.3: the value entries do not fit in the section.
    #[error("value metadata table truncated")]
    ValueTableTruncated,
    /// §5.4: the command entries do not fit in the section.
    #[error("command metadata table truncated")]
    CommandTableTruncated,
    /// §5.5.1: the JSON text is not UTF-8.
    #[error("mailbox metadata JSON must be UTF-8")]
    MailboxJsonNotUtf8,
    /// §5.5.1: the text is not valid JSON.
    #[error("mailbox metadata JSON invalid")]
    MailboxJsonInvalid,
    /// §5.5.1: the object's `version` is not absent, null or 1.
    #[error("mailbox metadata JSON version not supported")]
    MailboxJsonVersion,
    /// §5.5.1: the document is neither an object nor an array.
    #[error("mailbox metadata JSON must be an object or array")]
    MailboxJsonNotContainer,
    /// §5.5.1: `mailboxes`/`entries` is not an array.
    #[error("mailbox metadata entries must be a list")]
    MailboxEntriesNotList,
    /// §5.5.1: entry `index` is not an object.
    #[error("mailbox metadata entry {index} must be an object")]
    MailboxEntryNotObject {
        /// Index of the entry (0-based).
        index: usize,
    },
    /// §5.5.1: entry `index` has no non-empty `target`/`name` string.
    #[error("mailbox metadata entry {index} missing target")]
    MailboxMissingTarget {
        /// Index of the entry (0-based).
        index: usize,
    },
    /// §5.5.1: `capacity`/`queue_depth` is not an integer.
    #[error("mailbox metadata capacity must be an integer")]
    CapacityNotInteger,
    /// §5.5.1: `capacity`/`queue_depth` is negative.
    #[error("mailbox metadata capacity must be non-negative")]
    CapacityNegative,
    /// §5.5.1: a mode name that is not in the mode table.
    #[error("unknown mailbox mode '{0}'")]
    UnknownMode(String),
    /// §5.5.1: `mode_mask`/`mode`/`flags` is neither an integer nor a string.
    #[error("mailbox metadata mode_mask must be an integer")]
    ModeNotInteger,
    /// §5.5.1: `mode_mask`/`mode`/`flags` is a negative integer.
    #[error("mailbox metadata mode_mask must be non-negative")]
    ModeNegative,
    /// §5.5.1: entry `index` has an `owner_pid` that is not an integer.
    #[error("mailbox metadata entry {index} owner_pid must be an integer")]
    OwnerPidNotInteger {
        /// Index of the entry (0-based).
        index: usize,
    },
    /// §5.5.1: `bindings` is not an array.
    #[error("mailbox metadata bindings must be a list")]
    BindingsNotList,
    /// §5.5.1: a binding is not an object.
    #[error("mailbox metadata binding entries must be objects")]
    BindingNotObject,
    /// §5.5.1: a binding without `pid`.
    #[error("mailbox metadata binding missing pid")]
    BindingMissingPid,
    /// §5.5.1: a binding whose `pid` is not an integer.
    #[error("mailbox metadata binding pid must be an integer")]
    BindingPidNotInteger,
    /// §5.5.1: a binding whose `flags` is not an integer.
    #[error("mailbox metadata binding flags must be an integer")]
    BindingFlagsNotInteger,
    /// §5.5.2: the legacy entries do not fit in the section.
    #[error("mailbox metadata table truncated")]
    MailboxTableTruncated,
    /// §5.5.2: a legacy entry with an absent or empty name.
    #[error("mailbox metadata missing name")]
    MailboxMissingName,
}

/// Why [`write_hxe`](crate::write_hxe) could not write an image.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WriteError {
    /// Two value entries share (group, id) (`hxe.md` §6 rule 4).
    #[error("duplicate value metadata entry for ({group},{id})")]
    DuplicateValue {
        /// Group id.
        group: u8,
        /// Value id.
        id: u8,
    },
    /// Two command entries share (group, id) (`hxe.md` §6 rule 5).
    #[error("duplicate command metadata entry for ({group},{id})")]
    DuplicateCommand {
        /// Group id.
        group: u8,
        /// Command id.
        id: u8,
    },
    /// Mailbox source object `index` has no non-empty `target` (or `name`) string.
    #[error("mailbox metadata entry {index} missing target")]
    MailboxMissingTarget {
        /// Index of the entry in [`WriteInput::mailboxes`](crate::WriteInput::mailboxes).
        index: usize,
    },
    /// A value or command section grew past the 16-bit string offsets can address.
    #[error("{section} metadata strings exceed the 16-bit offset range")]
    StringAreaOverflow {
        /// `"value"` or `"command"`.
        section: &'static str,
    },
    /// A value or command string contains a NUL character, which would end it early.
    #[error("{section} metadata string contains a NUL character")]
    NulInString {
        /// `"value"` or `"command"`.
        section: &'static str,
    },
    /// A section or the whole file does not fit the 32-bit sizes and offsets of the format.
    #[error("{what} exceeds the 32-bit limits of the HXE format")]
    TooLarge {
        /// What overflowed (`"code"`, `"rodata"`, `"metadata"`).
        what: &'static str,
    },
}

/// The image does not fit a task's memory window (`hxe.md` §4, placement).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("Image does not fit the task memory window")]
pub struct PlacementError {
    /// Bytes the image needs: 0x4000 + ro_len + bss_size.
    pub required: u64,
    /// The window (or stack-limit) bound it was checked against.
    pub limit: u32,
}
