//! Golden image C of `hxe.md` §8 and its disassembly (`mvasm.md` §10).

use std::path::{Path, PathBuf};

use hsx_asm::{
    AsmOptions, LinkInput, LinkOptions, assemble_source, assemble_to_hxe, disassemble, link,
};
use hsx_image::Image;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn golden_bytes() -> Vec<u8> {
    std::fs::read(data("image_c.hxe")).unwrap()
}

#[test]
fn image_c_is_reproduced_byte_for_byte() {
    let bytes = assemble_to_hxe(&data("image_c.mvasm"), &AsmOptions::default(), "meta").unwrap();
    assert_eq!(bytes.len(), 295);
    assert_eq!(bytes, golden_bytes());
}

#[test]
fn image_c_disassembles_to_the_spec_example() {
    let image = Image::parse(&golden_bytes()).unwrap();
    let expected = std::fs::read_to_string(data("image_c.dis")).unwrap();
    assert_eq!(disassemble(&image), expected);
}

#[test]
fn image_c_disassembly_reassembles_to_the_same_bytes() {
    let text = std::fs::read_to_string(data("image_c.dis")).unwrap();
    let object = assemble_source("image_c.dis", &text, &AsmOptions::default()).unwrap();
    let opts = LinkOptions {
        app_name: "meta".into(),
        ..LinkOptions::default()
    };
    let linked = link(&[LinkInput::new("image_c.hxo", object)], &opts).unwrap();
    assert_eq!(linked.image, golden_bytes());
}
