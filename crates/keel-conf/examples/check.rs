//! `cargo run -p keel-conf --example check -- FILE`: print the diagnostics for a file
//! (the same output `keeld -t` gives) and time the check.
#![allow(clippy::print_stdout, clippy::print_stderr)]

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: check FILE");
        std::process::exit(2);
    };
    let t0 = std::time::Instant::now();
    let loaded = keel_conf::load_file(
        std::path::Path::new(&path),
        &keel_conf::LoadOptions::default(),
    );
    let el = t0.elapsed();
    for d in &loaded.diagnostics {
        println!("{d}\n");
    }
    eprintln!(
        "{} instances, {} virtual servers, {} diagnostics, {:?}",
        loaded.config.vrrp_instances.len(),
        loaded.config.virtual_servers.len(),
        loaded.diagnostics.len(),
        el
    );
    std::process::exit(loaded.exit_code());
}
