//! `Image::parse` on arbitrary bytes: it must never panic, every accepted image must
//! satisfy the loader's guarantees (hxe.md §4), and re-writing an accepted image as
//! version 2 must load back with the same content.
#![no_main]

use hsx_image::{HEADER_V1, HEADER_V2, Image, WriteInput, compute_crc, write_hxe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(image) = Image::parse(data) else { return };
    check_accepted(data, &image);
    check_rewrite(&image);
});

fn check_accepted(data: &[u8], image: &Image) {
    assert_eq!(image.file_len, data.len());
    let header = if image.version == 2 { HEADER_V2 } else { HEADER_V1 };
    assert_eq!(image.header_size(), header);
    assert!(image.code.len() <= 0x1_0000 && image.code.len().is_multiple_of(4));
    assert!((image.entry as usize) < image.code.len() && image.entry.is_multiple_of(4));
    assert!(image.rodata.len() <= 0x1_0000 && image.bss_size <= 0x1_0000);
    assert!(header + image.code.len() + image.rodata.len() <= data.len());
    assert_eq!(image.crc32, compute_crc(data, header));
    if image.version == 1 {
        assert!(image.allow_multiple() && image.app_name.is_none());
        assert!(image.metadata.sections.is_empty());
    }
    for section in &image.metadata.sections {
        assert!(section.offset as usize >= HEADER_V2);
        assert!(u64::from(section.offset) + u64::from(section.size) <= data.len() as u64);
    }
}

fn check_rewrite(image: &Image) {
    let metadata = &image.metadata;
    let input = WriteInput {
        code: image.code_words().collect(),
        entry: image.entry,
        rodata: image.rodata.clone(),
        bss_size: image.bss_size,
        req_caps: image.req_caps,
        app_name: image.app_name.clone().unwrap_or_default(),
        allow_multiple: image.allow_multiple(),
        values: metadata.values.clone(),
        commands: metadata.commands.clone(),
        mailboxes: metadata.mailboxes.iter().map(|m| m.source.clone()).collect(),
    };
    // Loaded metadata may hold duplicates, whitespace-only legacy names or more strings
    // than 16-bit offsets reach; the writer rejects those.
    let Ok(bytes) = write_hxe(&input) else { return };
    let again = Image::parse(&bytes).expect("a written image loads");
    assert_eq!(again.code, image.code);
    assert_eq!(again.rodata, image.rodata);
    assert_eq!(
        (again.entry, again.bss_size, again.req_caps),
        (image.entry, image.bss_size, image.req_caps)
    );
    // A loaded name may fill all 32 bytes (no NUL); the writer keeps 31 characters.
    let name = image.app_name.as_deref().map(|n| n.get(..31).unwrap_or(n).trim());
    assert_eq!(again.app_name.as_deref(), name.filter(|n| !n.is_empty()));
    assert_eq!(again.allow_multiple(), image.allow_multiple());

    let mut values = metadata.values.clone();
    values.sort_by_key(|v| (v.group, v.id));
    assert_eq!(again.metadata.values, values);
    let mut commands = metadata.commands.clone();
    commands.sort_by_key(|c| (c.group, c.id));
    assert_eq!(again.metadata.commands, commands);

    // The writer orders mailboxes by trimmed target (stable); JSON entries keep their
    // source, legacy entries become JSON with the same meaning.
    let mut mailboxes: Vec<_> = metadata.mailboxes.iter().collect();
    mailboxes.sort_by(|a, b| a.target.trim().cmp(b.target.trim()));
    assert_eq!(again.metadata.mailboxes.len(), mailboxes.len());
    for (new, old) in again.metadata.mailboxes.iter().zip(mailboxes) {
        assert_eq!(new.target, old.target.trim());
        assert_eq!(
            (new.capacity, new.mode_mask, new.owner_pid, &new.bindings),
            (old.capacity, old.mode_mask, old.owner_pid, &old.bindings)
        );
    }
}
