//! HSX executable images (`.hxe`, versions 1 and 2): loader, validator and writer,
//! exactly as `hxe.md` specifies them.
//!
//! * [`Image::parse`] runs every loader check of `hxe.md` §4 in order and decodes the
//!   metadata sections of §5. Every malformed input yields a [`LoadError`] whose
//!   `Display` text is the specified message; no input can make it panic.
//! * [`write_hxe`] writes the version-2 image of §6 byte for byte (interned strings,
//!   sorted metadata, canonical mailbox JSON, CRC); [`write_hxe_v1`] writes a bare
//!   version-1 image for tests.
//! * [`canonical_json`] and [`f16_from_f64`] are the two encodings the writer relies on,
//!   exported for the assembler and the disassembler.
//!
//! ```
//! use hsx_image::{Image, WriteInput, write_hxe};
//!
//! let input = WriteInput {
//!     code: vec![0x2500_0000], // RET
//!     app_name: "ret".into(),
//!     ..WriteInput::default()
//! };
//! let bytes = write_hxe(&input)?;
//! let image = Image::parse(&bytes)?;
//! assert_eq!(image.app_name.as_deref(), Some("ret"));
//! assert_eq!(image.code_words().collect::<Vec<_>>(), [0x2500_0000]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod f16;
mod header;
mod image;
mod json;
mod mailbox;
mod metadata;
mod writer;

pub use error::{LoadError, MetadataError, PlacementError, WriteError};
pub use f16::{f16_from_f64, f16_to_f64};
pub use header::{Header, HeaderV2, compute_crc};
pub use image::Image;
pub use json::canonical_json;
pub use mailbox::{MODE_NAMES, parse_mode_names};
pub use metadata::{CommandMeta, MailboxBinding, MailboxMeta, Metadata, SectionEntry, ValueMeta};
pub use writer::{WriteInput, normalize_app_name, write_hxe, write_hxe_v1};

/// Magic number at offset 0: `"HSXE"` read big-endian.
pub const MAGIC: u32 = 0x4853_5845;
/// Size of a version-1 header in bytes.
pub const HEADER_V1: usize = 32;
/// Size of a version-2 header in bytes.
pub const HEADER_V2: usize = 96;
/// Largest code, rodata or bss size the loader accepts (`hxe.md` §4 checks 7–9).
pub const MAX_SECTION_SIZE: u32 = 0x1_0000;
/// Data-window address where rodata is placed (`hxe.md` §4.2).
pub const RODATA_BASE: u32 = 0x4000;
/// Size of one metadata table entry (`hxe.md` §5.1).
pub const META_ENTRY_SIZE: usize = 16;
/// Size of one value-section entry (`hxe.md` §5.3).
pub const VALUE_ENTRY_SIZE: usize = 20;
/// Size of one command-section entry (`hxe.md` §5.4).
pub const COMMAND_ENTRY_SIZE: usize = 16;
/// Size of one legacy binary mailbox-section entry (`hxe.md` §5.5.2).
pub const LEGACY_MAILBOX_ENTRY_SIZE: usize = 16;

/// Header flag bits (`hxe.md` §2.3).
pub mod flags {
    /// Reported to tools only; no manifest is read.
    pub const MANIFEST_PRESENT: u16 = 0x0001;
    /// Several instances may run (version 2 only; version 1 images always may).
    pub const ALLOW_MULTIPLE: u16 = 0x0002;
}

/// Metadata table entry types (`hxe.md` §5.1).
pub mod section_kind {
    /// Value section (§5.3).
    pub const VALUE: u32 = 1;
    /// Command section (§5.4).
    pub const COMMAND: u32 = 2;
    /// Mailbox section (§5.5).
    pub const MAILBOX: u32 = 3;

    /// Lower-case name of a known kind (`value`, `command`, `mailbox`).
    pub fn name(kind: u32) -> Option<&'static str> {
        match kind {
            VALUE => Some("value"),
            COMMAND => Some("command"),
            MAILBOX => Some("mailbox"),
            _ => None,
        }
    }
}

/// Value flag bits (`hxe.md` §5.3).
pub mod value_flags {
    /// Read-only.
    pub const RO: u8 = 0x01;
    /// Persisted under `persist_key`.
    pub const PERSIST: u8 = 0x02;
    /// Sticky.
    pub const STICKY: u8 = 0x04;
    /// Writes require a PIN.
    pub const PIN: u8 = 0x08;
    /// Boolean value.
    pub const BOOL: u8 = 0x10;
    /// Every named flag, in bit order.
    pub const NAMES: &[(u8, &str)] = &[
        (RO, "RO"),
        (PERSIST, "PERSIST"),
        (STICKY, "STICKY"),
        (PIN, "PIN"),
        (BOOL, "BOOL"),
    ];
}

/// Command flag bits (`hxe.md` §5.4).
pub mod command_flags {
    /// Invocation requires a PIN.
    pub const PIN: u8 = 0x01;
    /// Asynchronous command.
    pub const ASYNC: u8 = 0x02;
    /// Every named flag, in bit order.
    pub const NAMES: &[(u8, &str)] = &[(PIN, "PIN"), (ASYNC, "ASYNC")];
}

/// Authorisation levels of values and commands (`hxe.md` §5.3).
pub mod auth {
    /// Anyone.
    pub const PUBLIC: u8 = 0;
    /// Logged-in user.
    pub const USER: u8 = 1;
    /// Administrator.
    pub const ADMIN: u8 = 2;
    /// Factory access.
    pub const FACTORY: u8 = 3;
    /// Every named level, in ascending order.
    pub const NAMES: &[(u8, &str)] = &[
        (PUBLIC, "PUBLIC"),
        (USER, "USER"),
        (ADMIN, "ADMIN"),
        (FACTORY, "FACTORY"),
    ];

    /// Name of a level, if it has one.
    pub fn name(level: u8) -> Option<&'static str> {
        NAMES.iter().find(|(v, _)| *v == level).map(|(_, n)| *n)
    }
}

/// Mailbox mode bits (`mailbox.md` §6, names as in `hxe.md` §5.5.1).
pub mod mode {
    /// Read access.
    pub const RDONLY: u16 = 0x01;
    /// Write access.
    pub const WRONLY: u16 = 0x02;
    /// Read and write access; the default mode.
    pub const RDWR: u16 = 0x03;
    /// Tap handle.
    pub const TAP: u16 = 0x04;
    /// Fan-out delivery.
    pub const FANOUT: u16 = 0x08;
    /// Fan-out, overflow drops the oldest message.
    pub const FANOUT_DROP: u16 = 0x10;
    /// Fan-out, overflow blocks the sender.
    pub const FANOUT_BLOCK: u16 = 0x20;
}
