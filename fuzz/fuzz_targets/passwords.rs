//! The embedded broker's password file: any text through `Passwords::parse` (hash rounds are capped by the
//! parser's own limits; a file that loads is asked about one user).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = telltale_stream::broker::Passwords::parse(text);
});
