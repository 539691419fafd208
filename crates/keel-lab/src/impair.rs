//! Fault injection on the lab's bridge: nftables rules in the switch
//! namespace that cut the frames between node pairs or drop a share of them.
use crate::topology::{Lab, node_addr};
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::Stdio;

/// Random loss: of the frames to and from one node, or of every bridged
/// frame (`None`), in percent.
pub type Loss = (Option<usize>, u8);

/// The nftables script: table `bridge chaos`, its forward chain flushed and
/// refilled with a drop rule per direction of each cut and the loss rules.
pub fn ruleset(cuts: &[(usize, usize)], loss: Option<Loss>) -> String {
    let mut r = String::from(
        "table bridge chaos {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n  }\n}\nflush chain bridge chaos forward\n",
    );
    for &(a, b) in cuts {
        for (x, y) in [(a, b), (b, a)] {
            let _ = writeln!(
                r,
                "add rule bridge chaos forward iifname \"br0p{x}\" oifname \"br0p{y}\" drop"
            );
        }
    }
    match loss {
        Some((Some(i), pct)) => {
            for dir in ["iifname", "oifname"] {
                let _ = writeln!(
                    r,
                    "add rule bridge chaos forward {dir} \"br0p{i}\" numgen random mod 100 < {pct} drop"
                );
            }
        }
        Some((None, pct)) => {
            let _ = writeln!(
                r,
                "add rule bridge chaos forward numgen random mod 100 < {pct} drop"
            );
        }
        None => {}
    }
    r
}

impl Lab {
    /// Replace the bridge's rules: these cuts between node pairs, this loss.
    pub fn impair(&self, cuts: &[(usize, usize)], loss: Option<Loss>) -> Result<()> {
        let r = ruleset(cuts, loss);
        let mut c = self.switch.command(&["nft", "-f", "-"]);
        c.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut ch = c.spawn().context("running nft")?;
        if let Some(mut i) = ch.stdin.take() {
            i.write_all(r.as_bytes())?;
        }
        let o = ch.wait_with_output()?;
        if !o.status.success() {
            bail!(
                "nft failed: {}\n{r}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        Ok(())
    }

    /// Whether node `from` gets an answer to one ping of node `to`.
    pub fn ping(&self, from: usize, to: usize) -> bool {
        self.nodes[from]
            .ns
            .run(&["ping", "-c", "1", "-W", "1", &node_addr(to)])
            .status
            .success()
    }

    /// Check that this kernel's nftables can cut and drop bridged frames
    /// (needs three nodes); the lab is left without rules.
    pub fn check_impairments(&mut self) -> Result<()> {
        self.impair(&[], None)
            .context("nftables bridge family (table bridge, hook forward) is not usable")?;
        if !self.ping(0, 1) {
            bail!("node1 cannot ping node2 before any rule: the lab is broken");
        }
        self.impair(&[(0, 1)], None)?;
        let cut = !self.ping(0, 1) && self.ping(0, 2);
        self.impair(&[], Some((None, 99)))?;
        let lossy = !self.ping(1, 2);
        self.impair(&[], None)?;
        if !cut || !lossy {
            bail!(
                "nftables rules load but do not act on bridged frames (cut works: {cut}, numgen loss works: {lossy})"
            );
        }
        self.say(
            "nft probe: bridge-family forward drop between ports works; numgen random loss works",
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ruleset_has_both_directions_of_a_cut_and_the_loss() {
        let r = super::ruleset(&[(0, 2)], Some((Some(1), 30)));
        assert!(r.contains("iifname \"br0p0\" oifname \"br0p2\" drop"));
        assert!(r.contains("iifname \"br0p2\" oifname \"br0p0\" drop"));
        assert!(r.contains("oifname \"br0p1\" numgen random mod 100 < 30 drop"));
    }
}
