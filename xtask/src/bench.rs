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

pub fn main(a: BenchArgs) -> Result<()> {
    let all = criterion_benches();
    let names = match &a.name {
        Some(n) => vec![n.clone()],
        None => all.clone(),
    };
    for n in names {
        if all.contains(&n) {
            step(&format!("benchmark {n}"));
            let mut c = cargo();
            c.args(["bench", "-p", "keel-benches", "--bench", &n]);
            if !a.args.is_empty() {
                c.arg("--").args(&a.args);
            }
            run(&mut c)?;
        } else if n == "failover" {
            // keeld vs keepalived, the guide's pair in namespaces
            crate::failover::main(&a.args)?;
        } else if n == "scale" {
            // 5,000 VRRP instances, keeld vs keepalived, in namespaces
            crate::scale::main(&a.args)?;
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
