#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| apiclient_fuzz_targets::from_response(data));
