//! Loaded images: the parsed `.hxe` and its decoded code, shared by every instance
//! (`executive.md` §2: loading an image twice keeps one copy of its code).

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use hsx_image::Image;
use hsx_vm::Program;

/// A parsed image with its pre-decoded code.
#[derive(Debug)]
pub struct LoadedImage {
    /// The parsed image.
    pub image: Image,
    /// The decoded code, executed by the VM.
    pub program: Program,
}

/// Interns images by content so instances share one decoded copy. Entries are weak:
/// an image no task uses any more is dropped.
#[derive(Debug, Default)]
pub struct ImageCache {
    by_crc: HashMap<u32, Vec<Weak<LoadedImage>>>,
}

impl ImageCache {
    /// The shared copy of `image`, decoding it if it is new.
    pub fn intern(&mut self, image: Image) -> Arc<LoadedImage> {
        let bucket = self.by_crc.entry(image.crc32).or_default();
        bucket.retain(|w| w.strong_count() > 0);
        for weak in bucket.iter() {
            if let Some(existing) = weak.upgrade()
                && existing.image == image
            {
                return existing;
            }
        }
        let loaded = Arc::new(LoadedImage {
            program: Program::from_code_bytes(&image.code),
            image,
        });
        bucket.push(Arc::downgrade(&loaded));
        loaded
    }
}
