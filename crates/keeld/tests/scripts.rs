//! vrrp_script tracking (weight), the generic notify script with
//! keepalived's arguments, and enable_script_security refusing a script
//! that a non-root user could change.
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
        "global_defs {{\n  enable_script_security\n}}\n\
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
