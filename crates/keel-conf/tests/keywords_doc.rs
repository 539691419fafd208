//! KEYWORDS.md is the keyword table rendered; it must be up to date
//! (`UPDATE_KEYWORDS=1 cargo test -p keel-conf --test keywords_doc` rewrites it).

#[test]
fn keywords_md_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("KEYWORDS.md");
    let want = keel_conf::keywords::markdown();
    if std::env::var_os("UPDATE_KEYWORDS").is_some() {
        std::fs::write(&path, &want).expect("write KEYWORDS.md");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "KEYWORDS.md is stale: run UPDATE_KEYWORDS=1 cargo test -p keel-conf --test keywords_doc"
    );
}
