//! vrrp_script tracking (weight), the generic notify script with
//! keepalived's arguments, enable_script_security refusing a script that a
//! non-root user could change (also behind `&&`), and what a script gets: no
//! orphans after a timeout, a clean environment, a narrow capability bounding set.
#![allow(clippy::unwrap_used, clippy::print_stderr)]
mod common;

use common::{Daemon, KEELD, Lab, v3_conf};
use keel_testkit::require_root;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

#[test]
fn track_script_weight_notify_and_security() {
    if !require_root("keeld scripts (namespaces)") {
        return;
    }
    let mut lab = Lab::new("ksc", 2, KEELD);
    let d = lab.dir.clone();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ok = d.join("ok");
    std::fs::write(&ok, "").unwrap();
    let notify_log = d.join("notify.log");
    let notify = d.join("notify.sh");
    std::fs::write(
        &notify,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", notify_log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&notify, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A script in a world-writable directory: refused under script security.
    let unsafe_dir = d.join("unsafe");
    std::fs::create_dir(&unsafe_dir).unwrap();
    std::fs::set_permissions(&unsafe_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let bad = unsafe_dir.join("bad.sh");
    std::fs::write(&bad, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o755)).unwrap();

    let head = format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n}}\n\
         vrrp_script chk {{\n  script \"/usr/bin/test -f {}\"\n  interval 1\n  weight -20\n  fall 1\n  rise 1\n}}\n\
         vrrp_script bad {{\n  script \"{}\"\n  interval 1\n}}\n",
        ok.display(),
        bad.display()
    );
    let extra = format!(
        "  track_script {{\n    chk\n  }}\n  notify \"{}\"\n",
        notify.display()
    );
    lab.write_conf(0, &format!("{head}{}", v3_conf(100, &extra)));
    lab.write_conf(1, &v3_conf(99, ""));
    lab.start(0, Daemon::Keeld);
    let t = lab.wait(Duration::from_secs(4), |l| l.holds_vip(0));
    lab.check(t.is_some(), "node1 never became master");
    lab.start(1, Daemon::Keeld);
    let n = lab.wait(Duration::from_secs(3), |_| {
        std::fs::read_to_string(&notify_log).is_ok_and(|s| s.contains("INSTANCE VI_1 MASTER 100"))
    });
    lab.check(
        n.is_some(),
        "generic notify did not get 'INSTANCE VI_1 MASTER 100'",
    );
    let line = format!(
        "Unsafe permissions found for script '{}' - disabling. ({} is writable by others)",
        bad.display(),
        unsafe_dir.display()
    );
    lab.check(lab.log(0).contains(&line), &format!("log lacks {line:?}"));
    std::thread::sleep(Duration::from_millis(800));
    lab.check(lab.state(1) == "BACKUP", "node2 BACKUP while chk succeeds");

    // The check fails: node1 drops to 80 and node2 (99) takes over.
    std::fs::remove_file(&ok).unwrap();
    let took = lab.wait(Duration::from_secs(5), |l| {
        l.holds_vip(1) && !l.holds_vip(0)
    });
    lab.check(took.is_some(), "node2 did not take over when chk failed");
    let st = lab.status(0);
    lab.check(
        st["instances"][0]["effective_priority"] == 80,
        &format!(
            "effective priority {}",
            st["instances"][0]["effective_priority"]
        ),
    );
    lab.check(
        st["scripts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "chk" && s["up"] == false),
        "status shows chk failed",
    );
    lab.check(
        lab.log(0).contains("VRRP_Script(chk) failed"),
        "chk failure logged",
    );
    lab.check(
        lab.log(0)
            .contains("(VI_1) Changing effective priority from 100 to 80"),
        "priority change logged",
    );
    let n = lab.wait(Duration::from_secs(2), |_| {
        std::fs::read_to_string(&notify_log).is_ok_and(|s| s.contains("INSTANCE VI_1 BACKUP 80"))
    });
    lab.check(
        n.is_some(),
        "generic notify did not get 'INSTANCE VI_1 BACKUP 80'",
    );

    // It recovers: node1 preempts again.
    std::fs::write(&ok, "").unwrap();
    let back = lab.wait(Duration::from_secs(5), |l| {
        l.holds_vip(0) && !l.holds_vip(1)
    });
    lab.check(back.is_some(), "node1 did not preempt after chk recovered");
    lab.check(
        lab.log(0).contains("VRRP_Script(chk) succeeded"),
        "recovery logged",
    );
}

/// Issue 17 items 3, 5 and 12, through keeld: a shell line whose second program
/// is world-writable is refused; a vrrp_script that times out leaves none of its
/// children behind; a root notify script gets keel-script's clean environment and
/// a bounding set no wider than keeld's own capabilities.
#[test]
fn scripts_are_contained() {
    if !require_root("keeld script containment (namespaces)") {
        return;
    }
    let mut lab = Lab::new("kst", 1, KEELD);
    let d = lab.dir.clone();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = |name: &str, body: &str, mode: u32| {
        let p = d.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    };
    let ww = exe("ww2.sh", "exit 0\n", 0o757);
    let pids = d.join("pids");
    let slow = exe(
        "slow.sh",
        &format!(
            "trap '' TERM\nfor i in 1 2 3 4 5 6 7 8; do sh -c 'echo $$ >> {}; trap \"\" TERM; exec sleep 60' & done\nwait\n",
            pids.display()
        ),
        0o755,
    );
    let env_out = d.join("env.out");
    let env = exe(
        "env.sh",
        &format!(
            "{{ env; grep -E '^Cap(Bnd|Eff)' /proc/self/status; }} > {}.tmp\nmv {0}.tmp {0}\n",
            env_out.display()
        ),
        0o755,
    );
    let head = format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n}}\n\
         vrrp_script shellbad {{\n  script \"/bin/true && {}\"\n  interval 1\n}}\n\
         vrrp_script slow {{\n  script \"{}\"\n  interval 60\n  timeout 1\n}}\n",
        ww.display(),
        slow.display()
    );
    let extra = format!(
        "  track_script {{\n    slow weight 0\n  }}\n  notify_master \"{}\"\n",
        env.display()
    );
    lab.write_conf(0, &format!("{head}{}", v3_conf(100, &extra)));
    lab.start(0, Daemon::Keeld);
    let line = format!(
        "Unsafe permissions found for script '/bin/true && {}' - disabling. ({} is writable by others)",
        ww.display(),
        ww.display()
    );
    let t = lab.wait(Duration::from_secs(4), |l| l.log(0).contains(&line));
    lab.check(t.is_some(), &format!("log lacks {line:?}"));

    // item 12: the notify script's environment and capabilities
    let t = lab.wait(Duration::from_secs(5), |_| env_out.exists());
    lab.check(t.is_some(), "notify_master did not run");
    let text = std::fs::read_to_string(&env_out).unwrap_or_default();
    lab.check(
        !text.contains("CARGO") && !text.contains("RUST"),
        &format!("keeld's environment leaked into the script:\n{text}"),
    );
    lab.check(
        text.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"),
        &format!("PATH:\n{text}"),
    );
    let bnd = text
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok());
    // CAP_KILL 5, SETGID 6, SETUID 7, NET_BIND_SERVICE 10, NET_ADMIN 12, NET_RAW 13
    let keep: u64 = (1 << 5) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 12) | (1 << 13);
    lab.check(
        bnd.is_some_and(|b| b & !keep == 0),
        &format!("script bounding set wider than keeld's: {bnd:x?}\n{text}"),
    );

    // item 5: the slow script times out (1 s) with 8 children ignoring SIGTERM
    let t = lab.wait(Duration::from_secs(6), |l| {
        l.log(0).contains("Script `slow` timed out")
    });
    lab.check(t.is_some(), "slow never timed out");
    std::thread::sleep(Duration::from_millis(500));
    let started: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    lab.check(
        started.len() >= 8,
        &format!("children started: {started:?}"),
    );
    let alive: Vec<i32> = started
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, r)| r.split_whitespace().next())
                    .is_some_and(|st| st != "Z")
            })
        })
        .collect();
    for p in &alive {
        let _ = std::process::Command::new("kill")
            .args(["-9", &p.to_string()])
            .status();
    }
    lab.check(
        alive.is_empty(),
        &format!("orphans of the timed-out script: {alive:?}"),
    );
}
