//! `cargo xtask bench [NAME] [-- ARGS]`: keel's benchmarks.
//!
//! A NAME that is a criterion bench of the `keel-benches` package
//! (`benches/benches/NAME.rs`) runs `cargo bench -p keel-benches --bench NAME`.
//! Without NAME, every criterion bench runs. Special names that need namespaces
//! or the IPVS VM are dispatched to their own modules.
use crate::util::{cargo, root, run, step};
use anyhow::{Result, bail};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Benchmark name (a file in benches/benches/, or a special one); all when omitted.
    pub name: Option<String>,
    /// Extra arguments passed to the benchmark.
    #[arg(last = true)]
    pub args: Vec<String>,
}

/// Criterion benches present in benches/benches/.
pub fn criterion_benches() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("benches/benches"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let p = e.path();
                    if p.extension()? != "rs" {
                        return None;
                    }
                    Some(p.file_stem()?.to_string_lossy().into_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `bench check`: build keeld (release) and benches/shim/ipvs-shim.so, then run the
/// check bench with them (keel-check, keeld and keepalived's checker, interleaved).
fn check(args: &[String]) -> Result<()> {
    // Either may fail to build; the bench then runs without that subject and says so.
    let mut c = cargo();
    c.args(["build", "--release", "-p", "keeld"]);
    step("bench check: building keeld");
    let keeld = run(&mut c).map(|()| root().join("target/release/keeld"));
    let out = root().join("target/keel-bench");
    std::fs::create_dir_all(&out)?;
    let shim = out.join("ipvs-shim.so");
    step("bench check: building the IPVS shim keepalived's checker needs on a kernel without IPVS");
    let shim = run(std::process::Command::new("cc")
        .args(["-O2", "-Wall", "-shared", "-fPIC", "-o"])
        .arg(&shim)
        .arg(root().join("benches/shim/ipvs-shim.c"))
        .arg("-ldl"))
    .map(|()| shim);
    step("benchmark check");
    let mut c = cargo();
    c.args(["bench", "-p", "keel-benches", "--bench", "check"]);
    for (var, built) in [("KEEL_BENCH_KEELD", keeld), ("KEEL_BENCH_SHIM", shim)] {
        match built {
            Ok(p) => {
                c.env(var, p);
            }
            Err(e) => eprintln!("    warning: {e:#}; {var} not set"),
        }
    }
    if !args.is_empty() {
        c.arg("--").args(args);
    }
    run(&mut c)
}

pub fn main(a: BenchArgs) -> Result<()> {
    let all = criterion_benches();
    let names = match &a.name {
        Some(n) => vec![n.clone()],
        None => all.clone(),
    };
    for n in names {
        if n == "check" {
            // keel vs keepalived's checker (with the IPVS shim) in a namespace
            check(&a.args)?;
        } else if all.contains(&n) {
            step(&format!("benchmark {n}"));
            let mut c = cargo();
            c.args(["bench", "-p", "keel-benches", "--bench", &n]);
            if !a.args.is_empty() {
                c.arg("--").args(&a.args);
            }
            run(&mut c)?;
        } else if n == "failover" {
            // keeld vs keepalived, the guide's pair in namespaces
            keel_lab::bench::failover::main(&a.args)?;
        } else if n == "scale" {
            // 5,000 VRRP instances, keeld vs keepalived, in namespaces
            keel_lab::bench::scale::main(&a.args)?;
        } else if n == "ipvs" {
            // keel-ipvs vs ipvsadm, in the IPVS test VM
            crate::vm::bench(&a.args)?;
        } else {
            bail!(
                "unknown benchmark {n:?}; criterion benches: {}",
                all.join(", ")
            );
        }
    }
    Ok(())
}
