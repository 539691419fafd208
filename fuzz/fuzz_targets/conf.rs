#![no_main]
//! keel-conf front end: arbitrary bytes (as keepalived.conf text) must give a model and
//! diagnostics, never a panic or a hang. Every diagnostic renders, and the canonical
//! printer's output parses back to the same model.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let opts = keel_conf::LoadOptions {
        config_id: Some("main".into()),
        check_environment: false,
    };
    // Includes would read the fuzzing host's files; ~SEQ output is capped lower than the
    // default so one input cannot take seconds.
    let limits = keel_conf::Limits {
        max_generated_lines: 5_000,
        includes: false,
    };
    let loaded = keel_conf::load_str_with("fuzz.conf", &text, &opts, &limits);
    for d in &loaded.diagnostics {
        let s = d.to_string();
        assert!(s.contains(d.code.as_str()));
    }
    let _ = loaded.exit_code();
    let printed = keel_conf::print(&loaded.config);
    let again = keel_conf::load_str_with("printed.conf", &printed, &opts, &limits);
    assert_eq!(again.config, loaded.config, "printed:\n{printed}");
});
