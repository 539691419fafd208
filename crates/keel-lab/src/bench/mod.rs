//! Benchmarks that need the lab: keeld against keepalived in the same run.
//!
//! * [`failover`]: the guide's pair; client-seen outages, takeover times,
//!   resign latency, handover, steady RSS and CPU.
//! * [`fast`]: `failover --fast`, VRRPv3 advert_int 0.01 against the RFC's
//!   limits.
//! * [`scale`]: one daemon with thousands of instances; start-up, CPU, RSS,
//!   advert gaps.
pub mod failover;
pub mod fast;
pub mod scale;

/// Parse the value after a flag, or fail naming the flag.
pub(crate) fn value<T: std::str::FromStr>(
    flag: &str,
    it: &mut std::slice::Iter<'_, String>,
) -> anyhow::Result<T> {
    it.next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{flag} needs a valid value"))
}

/// Print a benchmark's table and write it to `target/<file>`.
pub(crate) fn publish(file: &str, out: &str) -> anyhow::Result<()> {
    println!("{out}");
    let path = crate::host::root().join("target").join(file);
    std::fs::write(&path, out)?;
    eprintln!("written to {}", path.display());
    Ok(())
}
