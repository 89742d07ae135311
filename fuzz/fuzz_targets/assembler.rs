//! Fuzz the MVASM assembler and linker: any text must give an image or diagnostics,
//! never a panic; an image that loads must disassemble, and its disassembly must
//! assemble again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let opts = hsx_asm::AsmOptions::default();
    let _ = hsx_asm::assemble_source("fuzz.mvasm", text, &opts);
    let Ok(bytes) = hsx_asm::assemble_source_to_hxe("fuzz.mvasm", text, &opts, "fuzz") else { return };
    // Empty code or an entry past the end give images the loader rightly rejects.
    let Ok(image) = hsx_image::Image::parse(&bytes) else { return };
    let listing = hsx_asm::disassemble(&image);
    if let Err(diags) = hsx_asm::assemble_source("fuzz.dis", &listing, &opts) {
        panic!("disassembly does not reassemble:\n{diags}\n{listing}");
    }
});
