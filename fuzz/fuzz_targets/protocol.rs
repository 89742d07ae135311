//! The protocol request path on arbitrary bytes (`protocol.md` §1-§2): framing, request
//! parsing, typed field access and event filters must never panic; every error is one
//! of the protocol's error texts, and every reply line is one line of JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hsx_server::wire::fuzz_one(data);
});
