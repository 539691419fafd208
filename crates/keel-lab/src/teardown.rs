//! Ctrl-C during a lab run: delete every namespace this process made (their
//! names carry its pid, see `keel_testkit::Netns`) and whatever runs in them.
use anyhow::{Context, Result};
use std::process::Command;

/// Whether `name` is a namespace `keel_testkit::Netns` made for process `pid`
/// (`keel-<tag>-<pid>-<n>`).
fn ours(name: &str, pid: u32) -> bool {
    let mut parts = name.rsplitn(3, '-');
    let (_n, p, rest) = (parts.next(), parts.next(), parts.next());
    name.starts_with("keel-") && rest.is_some() && p == Some(pid.to_string().as_str())
}

/// Install the handler: on Ctrl-C, tear down, exit 130.
pub fn on_ctrl_c() -> Result<()> {
    ctrlc::set_handler(|| {
        eprintln!("\ninterrupted: tearing the lab down");
        let pid = std::process::id();
        let list = Command::new("ip").args(["netns", "list"]).output();
        let text = list.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        for line in text.unwrap_or_default().lines() {
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            if !ours(name, pid) {
                continue;
            }
            if let Ok(o) = Command::new("ip").args(["netns", "pids", name]).output() {
                for p in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", p]).status();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
        std::process::exit(130);
    })
    .context("installing the Ctrl-C handler")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_this_process_namespaces_are_ours() {
        assert!(super::ours("keel-chaos-n1-4242-3", 4242));
        assert!(!super::ours("keel-chaos-n1-4243-3", 4242));
        assert!(!super::ours("other-4242-3", 4242));
    }
}
