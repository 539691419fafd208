//! The examples in namespaces. examples/two_instances.rs on node1 against
//! keepalived 2.2.7 on node2, on one bridge: election, failover and
//! preemption both ways. examples/hook_vips.rs with a hook that logs its
//! calls and moves the address itself.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
use keel_lab::{Daemon, Lab};
use keel_testkit::{require_root, require_tool};
use std::process::{Child, Stdio};
use std::time::Duration;

/// keepalived's side: the example's two instances (VRID 51 and 52, PASS "keel").
fn keepalived_conf(prio: u8) -> String {
    let mut s = String::from("global_defs {\n  router_id KA\n}\n");
    for (name, vrid, vip) in [("VI_1", 51, "192.0.2.250"), ("VI_2", 52, "192.0.2.251")] {
        s.push_str(&format!(
            "vrrp_instance {name} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  \
             priority {prio}\n  advert_int 1\n  authentication {{\n    auth_type PASS\n    auth_pass keel\n  }}\n  \
             virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"
        ));
    }
    s
}

/// An example binary cargo built beside this test (`cargo test -p
/// keel-node` builds the examples).
fn example_bin(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

fn example() -> std::path::PathBuf {
    example_bin("two_instances")
}

struct Example(Child);

impl Example {
    fn start(lab: &Lab, out: &str) -> Example {
        let log = std::fs::File::create(lab.dir.join(out)).unwrap();
        let child = lab.nodes[0]
            .ns
            .command(&[example().to_str().unwrap(), "eth0", "100"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Example(child)
    }
    fn stop(mut self) {
        let pid = i32::try_from(self.0.id()).unwrap();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn two_instances_example_against_keepalived() {
    if !require_root("two_instances example interop")
        || !require_tool("two_instances example interop", "keepalived")
    {
        return;
    }
    assert!(example().exists(), "{} not built", example().display());
    let mut lab = Lab::new("kn-ex", 2, "/nonexistent-keeld");
    // Election: the example (100) first, then keepalived (99) stays backup.
    let ex = Example::start(&lab, "example1.log");
    let t = lab.wait(Duration::from_secs(8), |l| l.holds_vip(0));
    lab.check(
        t.is_some(),
        "the example (priority 100) never became master",
    );
    lab.write_conf(1, &keepalived_conf(99));
    lab.start(1, Daemon::Keepalived);
    std::thread::sleep(Duration::from_secs(3));
    lab.check(lab.holders() == vec![0], "only the example holds the VIP");
    lab.check(
        !lab.log(1).contains("Entering MASTER STATE"),
        "keepalived must stay backup",
    );
    // Failover: the example stops (priority 0), keepalived takes over.
    ex.stop();
    let took = lab.wait(Duration::from_secs(3), |l| {
        l.holds_vip(1) && !l.holds_vip(0)
    });
    lab.check(
        took.is_some(),
        "keepalived did not take over from the example",
    );
    let out = std::fs::read_to_string(lab.dir.join("example1.log")).unwrap();
    for line in [
        "(VI_1) Entering MASTER STATE",
        "(VI_2) Entering MASTER STATE",
    ] {
        lab.check(
            out.contains(line),
            &format!("example output lacks {line:?}: {out}"),
        );
    }
    // Preemption: the example returns with the higher priority.
    let ex = Example::start(&lab, "example2.log");
    let back = lab.wait(Duration::from_secs(8), |l| {
        l.holds_vip(0) && !l.holds_vip(1)
    });
    lab.check(back.is_some(), "the example did not preempt keepalived");
    // Failover the other way: keepalived restarts with priority 110 and
    // preempts the example, which gives the VIP up.
    lab.signal(1, "TERM");
    let _ = lab.reap(1, Duration::from_secs(3));
    lab.write_conf(1, &keepalived_conf(110));
    lab.start(1, Daemon::Keepalived);
    let pre = lab.wait(Duration::from_secs(8), |l| {
        l.holds_vip(1) && !l.holds_vip(0)
    });
    lab.check(
        pre.is_some(),
        "keepalived (110) did not preempt the example",
    );
    std::thread::sleep(Duration::from_secs(2));
    lab.check(lab.holders() == vec![1], "only keepalived holds the VIP");
    // keepalived crashes (no priority 0): the example takes over.
    lab.signal(1, "KILL");
    let _ = lab.reap(1, Duration::from_secs(3));
    let took = lab.wait(Duration::from_secs(6), |l| l.holds_vip(0));
    lab.check(
        took.is_some(),
        "the example did not take over after keepalived's crash",
    );
    ex.stop();
    let out = std::fs::read_to_string(lab.dir.join("example2.log")).unwrap();
    lab.check(
        out.contains("(VI_1) Entering BACKUP STATE")
            && out.contains("(VI_1) Entering MASTER STATE"),
        &format!("example output: {out}"),
    );
}

/// Whether `addr` is on node `i`'s eth0.
fn has_addr(lab: &Lab, i: usize, addr: &str) -> bool {
    let out = lab.nodes[i]
        .ns
        .run(&["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
    String::from_utf8_lossy(&out.stdout).contains(&format!(" {addr}/"))
}

#[test]
fn hook_vips_example_moves_the_address_through_the_hook() {
    if !require_root("hook_vips example") {
        return;
    }
    let bin = example_bin("hook_vips");
    assert!(
        bin.exists(),
        "{} not built (cargo test -p keel-node builds it)",
        bin.display()
    );
    let lab = Lab::new("kn-hook", 1, "/nonexistent-keeld");
    let calls = lab.dir.join("hook.calls");
    let hook = lab.dir.join("vip-hook");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\n\
             if [ \"$1\" = add ]; then exec ip addr add \"$2\" dev \"$3\"; fi\n\
             exec ip addr del \"$2\" dev \"$3\"\n",
            calls.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", hook.to_str().unwrap()])
        .status()
        .unwrap();
    let log = std::fs::File::create(lab.dir.join("hook_vips.log")).unwrap();
    let child = lab.nodes[0]
        .ns
        .command(&[bin.to_str().unwrap(), "eth0", "100", hook.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let ex = Example(child);
    // Alone on the LAN: master after Master_Down_Interval, the hook adds it.
    let up = lab.wait(Duration::from_secs(8), |l| has_addr(l, 0, "192.0.2.240"));
    let out = || std::fs::read_to_string(lab.dir.join("hook_vips.log")).unwrap_or_default();
    lab.check(
        up.is_some(),
        &format!("the hook never added the VIP: {}", out()),
    );
    let called = || std::fs::read_to_string(&calls).unwrap_or_default();
    lab.check(
        called() == "add 192.0.2.240/24 eth0\n",
        &format!("hook calls: {:?}", called()),
    );
    lab.check(out().contains("(VI_HOOK) Entering MASTER STATE"), &out());
    // Stopping: the hook is called to remove it, and removes it.
    ex.stop();
    lab.check(
        !has_addr(&lab, 0, "192.0.2.240"),
        "the hook's del left the VIP",
    );
    lab.check(
        called() == "add 192.0.2.240/24 eth0\ndel 192.0.2.240/24 eth0\n",
        &format!("hook calls: {:?}", called()),
    );
}
