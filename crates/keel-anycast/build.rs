//! Generates the GoBGP gRPC client from the vendored proto files
//! (`proto/gobgp/`, GoBGP 3.10.0 as Debian ships it) with protox, a
//! protobuf compiler written in Rust: building keel needs no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/gobgp/gobgp.proto", "proto/gobgp/attribute.proto"];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rerun-if-changed=proto/gobgp/capability.proto");
    let fds = protox::compile(files, ["proto/gobgp"])?;
    tonic_prost_build::configure()
        .build_server(false)
        .build_transport(true)
        .compile_fds(fds)?;
    Ok(())
}
