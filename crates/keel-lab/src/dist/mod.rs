//! keeld's Debian package and manual pages, for `cargo xtask dist`.
//!
//! Generates the man pages `keeld.8` and `keel.conf.5` (see `man.rs`) and shell
//! completions (bash, zsh, fish) from keeld's own clap definition
//! (`crates/keeld/src/cli.rs`, compiled here as it is, so they cannot drift) and
//! keel-conf's keyword table; builds keeld in release mode, strips it, and
//! assembles `keeld_VERSION_ARCH.deb` from the `[package.metadata.deb]` table of
//! `crates/keeld/Cargo.toml`, which is written in cargo-deb's format (`assets`,
//! `conf-files`, `depends`, ...) so `cargo deb -p keeld` builds the same package.
//!
//! We assemble with `dpkg-deb --build` rather than running cargo-deb because
//! cargo-deb is not installed on the CI machines and compiling it (about 200
//! crates) costs more than the whole package build; reading the same table keeps
//! the two in step. One extension: an asset source under `target/` is taken from
//! the workspace's target directory (cargo-deb does that for `target/release/`),
//! which is where the generated man pages and completions are.
//!
//! `--check` (run by `cargo xtask test`) installs the package into a temporary
//! root with `dpkg --root` (its own dpkg database, never the host's), checks the
//! installed file list and modes against the table, runs `systemd-analyze verify`
//! on the unit when systemd-analyze is present, then removes and purges it.
use crate::host::{build_keeld, cargo, output, root, run, step};
use anyhow::{Context, Result, bail, ensure};
use clap::CommandFactory;
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub mod man;

// keeld's own clap definition, compiled here as it is, so the pages and
// completions cannot drift from it.
#[allow(dead_code, clippy::all)]
#[path = "../../../keeld/src/cli.rs"]
pub(crate) mod keeld_cli;

/// One file of the package: where it comes from, where it goes, its mode.
#[derive(Debug, Clone)]
struct Asset {
    src: PathBuf,
    dest: String,
    mode: u32,
}

/// What `[package.metadata.deb]` says, read through `cargo metadata`.
#[derive(Debug)]
#[allow(missing_docs)]
pub struct Meta {
    name: String,
    version: String,
    description: String,
    extended: String,
    maintainer: String,
    depends: String,
    section: String,
    priority: String,
    conf_files: Vec<String>,
    assets: Vec<Asset>,
}

pub fn meta() -> Result<Meta> {
    let text = output(cargo().current_dir(root()).args([
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
    ]))?;
    let v: serde_json::Value = serde_json::from_str(&text).context("cargo metadata")?;
    let pkg = v["packages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "keeld"))
        .context("keeld is not in cargo metadata")?;
    let deb = &pkg["metadata"]["deb"];
    let s = |k: &str| deb[k].as_str().unwrap_or_default().to_owned();
    let crate_dir = PathBuf::from(pkg["manifest_path"].as_str().unwrap_or_default())
        .parent()
        .map(Path::to_path_buf)
        .context("keeld's manifest path")?;
    let target = PathBuf::from(v["target_directory"].as_str().unwrap_or("target"));
    let mut assets = Vec::new();
    for a in deb["assets"].as_array().context("no assets")? {
        let f = |i: usize| a[i].as_str().unwrap_or_default();
        let src = match f(0).strip_prefix("target/") {
            Some(rest) => target.join(rest),
            None => crate_dir.join(f(0)),
        };
        let mode = u32::from_str_radix(f(2), 8).with_context(|| format!("mode of {}", f(0)))?;
        assets.push(Asset {
            src,
            dest: f(1).trim_start_matches('/').to_owned(),
            mode,
        });
    }
    Ok(Meta {
        name: pkg["name"].as_str().unwrap_or("keeld").to_owned(),
        version: pkg["version"].as_str().unwrap_or_default().to_owned(),
        description: pkg["description"].as_str().unwrap_or_default().to_owned(),
        extended: s("extended-description"),
        maintainer: s("maintainer"),
        depends: s("depends"),
        section: s("section"),
        priority: s("priority"),
        conf_files: deb["conf-files"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        assets,
    })
}

/// Man pages (plain and gzipped, as Debian installs them) and completions.
pub fn manuals(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out.join("completions"))?;
    let cmd = keeld_cli::Cli::command().name("keeld");
    let keeld8 = man::keeld_8(&cmd).context("rendering keeld.8")?;
    std::fs::write(out.join("keeld.8"), keeld8)?;
    std::fs::write(out.join("keel.conf.5"), man::keel_conf_5())?;
    for page in ["keeld.8", "keel.conf.5"] {
        // -n: no name or time stamp in the header, so the package is reproducible.
        let gz = Command::new("gzip")
            .args(["-9nc"])
            .arg(out.join(page))
            .output()
            .context("gzip")?;
        ensure!(gz.status.success(), "gzip {page} failed");
        std::fs::write(out.join(format!("{page}.gz")), gz.stdout)?;
    }
    for (shell, file) in [
        (clap_complete::Shell::Bash, "keeld.bash"),
        (clap_complete::Shell::Zsh, "_keeld"),
        (clap_complete::Shell::Fish, "keeld.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), "keeld", &mut buf);
        std::fs::write(out.join("completions").join(file), buf)?;
    }
    std::fs::copy(
        root().join("crates/keeld/dist/keeld.service"),
        out.join("keeld.service"),
    )?;
    step(&format!(
        "wrote {0}/keeld.8, {0}/keel.conf.5, {0}/completions/{{keeld.bash,_keeld,keeld.fish}}, \
         {0}/keeld.service\n    read: man -l {0}/keeld.8",
        out.display()
    ));
    Ok(())
}

fn arch() -> Result<String> {
    Ok(output(Command::new("dpkg").arg("--print-architecture"))?
        .trim()
        .to_owned())
}

/// The control file's Description: the summary line, then the extended text with
/// each line indented by one space and blank lines as " .".
fn description(m: &Meta) -> String {
    let mut d = m.description.clone();
    for line in m.extended.trim().lines() {
        d.push('\n');
        d.push_str(if line.trim().is_empty() { " ." } else { " " });
        d.push_str(line.trim_end());
    }
    d
}

/// Build the .deb; returns its path.
pub fn build_deb(out: &Path, m: &Meta) -> Result<PathBuf> {
    build_keeld(true)?;
    let arch = arch()?;
    let stem = format!("{}_{}_{arch}", m.name, m.version);
    let stage = out.join("deb").join(&stem);
    if stage.exists() {
        std::fs::remove_dir_all(&stage)?;
    }
    std::fs::create_dir_all(stage.join("DEBIAN"))?;
    let mut installed = 0u64;
    for a in &m.assets {
        let dest = stage.join(&a.dest);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if a.dest.starts_with("usr/sbin/") || a.dest.starts_with("usr/bin/") {
            // the stripped binary: symbols and debug info stay in target/release
            run(Command::new("strip")
                .args(["--strip-all", "-o"])
                .arg(&dest)
                .arg(&a.src))?;
        } else {
            std::fs::copy(&a.src, &dest).with_context(|| format!("copying {}", a.src.display()))?;
        }
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(a.mode))?;
        installed += std::fs::metadata(&dest)?.len().div_ceil(1024);
    }
    // directories 0755 whatever the umask
    run(Command::new("find")
        .arg(&stage)
        .args(["-type", "d", "-exec", "chmod", "0755", "{}", "+"]))?;
    let control = format!(
        "Package: {}\nVersion: {}\nArchitecture: {arch}\nMaintainer: {}\n\
         Installed-Size: {installed}\nDepends: {}\nSection: {}\nPriority: {}\n\
         Description: {}\n",
        m.name,
        m.version,
        m.maintainer,
        m.depends,
        m.section,
        m.priority,
        description(m)
    );
    std::fs::write(stage.join("DEBIAN/control"), control)?;
    let conffiles: String = m.conf_files.iter().map(|c| format!("{c}\n")).collect();
    std::fs::write(stage.join("DEBIAN/conffiles"), conffiles)?;
    let sums = output(
        Command::new("md5sum")
            .current_dir(&stage)
            .args(m.assets.iter().map(|a| a.dest.as_str())),
    )?;
    std::fs::write(stage.join("DEBIAN/md5sums"), sums)?;
    for f in ["control", "conffiles", "md5sums"] {
        std::fs::set_permissions(
            stage.join("DEBIAN").join(f),
            std::fs::Permissions::from_mode(0o644),
        )?;
    }
    let deb = out.join(format!("{stem}.deb"));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&stage)
        .arg(&deb))?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let bin = m
        .assets
        .iter()
        .find(|a| a.dest == "usr/sbin/keeld")
        .map(|a| (size(&a.src), size(&stage.join(&a.dest))))
        .unwrap_or_default();
    step(&format!(
        "built {}: {} bytes; keeld {} bytes in target/release, {} bytes stripped",
        deb.display(),
        size(&deb),
        bin.0,
        bin.1
    ));
    Ok(deb)
}

/// `systemd-analyze verify` the unit as the package installs it: `--root` a copy
/// of the package (`dpkg -x`) so `ExecStart=/usr/sbin/keeld` resolves there and
/// not on the host, plus what the unit refers to outside the package: the
/// host's own units (sysinit.target, ...) and `/bin/kill` (ExecReload).
/// `--man=no`: the man pages are in the package, not in the host's man path.
/// systemd-analyze exits 0 on unknown keys and bad values, only warning:
/// any line naming the unit fails the check.
fn verify_unit(out: &Path, deb: &Path) -> Result<()> {
    let v = out.join("verify-root");
    if v.exists() {
        std::fs::remove_dir_all(&v)?;
    }
    std::fs::create_dir_all(v.join("usr/lib/systemd"))?;
    std::fs::create_dir_all(v.join("bin"))?;
    run(Command::new("dpkg").arg("-x").arg(deb).arg(&v))?;
    run(Command::new("cp")
        .args(["-r", "/usr/lib/systemd/system"])
        .arg(v.join("usr/lib/systemd/")))?;
    std::fs::copy("/usr/bin/kill", v.join("bin/kill")).context("copying /usr/bin/kill")?;
    let o = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(format!("--root={}", v.display()))
        .arg("/lib/systemd/system/keeld.service")
        .output()
        .context("systemd-analyze")?;
    let err = String::from_utf8_lossy(&o.stderr);
    eprint!("{err}");
    ensure!(
        o.status.success() && !err.contains("keeld.service"),
        "systemd-analyze verify found problems in keeld.service"
    );
    std::fs::remove_dir_all(&v)?;
    Ok(())
}

/// Paths of the regular files in `dir`, relative to it.
fn files_under(dir: &Path) -> Result<BTreeSet<String>> {
    let list = output(
        Command::new("find")
            .current_dir(dir)
            .args([".", "-type", "f", "-printf", "%P\n"]),
    )?;
    Ok(list.lines().map(str::to_owned).collect())
}

/// Install `deb` into a fresh root with `dpkg --root`, check it, remove and purge it.
pub fn check_deb(out: &Path, deb: &Path, m: &Meta) -> Result<()> {
    step("installing the .deb into a temporary root (dpkg --root)");
    let r = out.join("root");
    if r.exists() {
        std::fs::remove_dir_all(&r)?;
    }
    // an empty dpkg database of the temporary root's own
    for d in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
    ] {
        std::fs::create_dir_all(r.join(d))?;
    }
    std::fs::write(r.join("var/lib/dpkg/status"), "")?;
    std::fs::write(r.join("var/lib/dpkg/available"), "")?;
    let dpkg = |args: &[&str]| -> Result<()> {
        // The root has no libc6: dependencies are not what this checks. The host's
        // dpkg.cfg.d may exclude man pages and docs (container images do):
        // --path-include after them puts every path back.
        run(Command::new("dpkg")
            .arg(format!("--root={}", r.display()))
            .args(["--log=/dev/null", "--force-depends", "--path-include=/*"])
            .args(args))
    };
    dpkg(&["--install", &deb.display().to_string()])?;

    let want: BTreeSet<String> = m.assets.iter().map(|a| a.dest.clone()).collect();
    let have: BTreeSet<String> = files_under(&r)?
        .into_iter()
        .filter(|f| !f.starts_with("var/lib/dpkg/"))
        .collect();
    ensure!(
        have == want,
        "installed files differ from [package.metadata.deb] assets:\n  missing: {:?}\n  extra: {:?}",
        want.difference(&have).collect::<Vec<_>>(),
        have.difference(&want).collect::<Vec<_>>()
    );
    for a in &m.assets {
        let mode = std::fs::metadata(r.join(&a.dest))?.permissions().mode() & 0o7777;
        ensure!(
            mode == a.mode,
            "{}: mode {mode:o}, want {:o}",
            a.dest,
            a.mode
        );
    }
    let listed = output(
        Command::new("dpkg")
            .arg(format!("--root={}", r.display()))
            .args(["-L", &m.name]),
    )?;
    for f in &want {
        ensure!(
            listed.lines().any(|l| l == format!("/{f}")),
            "dpkg -L {} does not list /{f}",
            m.name
        );
    }
    let bin = r.join("usr/sbin/keeld");
    let v = output(Command::new(&bin).arg("--version"))?;
    ensure!(v.contains(&m.version), "keeld --version says {v:?}");
    let gz = output(Command::new("file").arg(r.join("usr/share/man/man8/keeld.8.gz")))
        .unwrap_or_default();
    if !gz.is_empty() {
        ensure!(gz.contains("gzip"), "keeld.8.gz is not gzip: {gz}");
    }
    step(&format!(
        "{} files installed as listed, modes right",
        want.len()
    ));

    if Path::new("/usr/bin/systemd-analyze").exists() {
        step("systemd-analyze verify keeld.service");
        verify_unit(out, deb)?;
    } else {
        eprintln!("    !!! systemd-analyze missing: unit not verified !!!");
        if keel_testkit::in_ci() {
            bail!("CI=true: systemd-analyze is needed (xtask deps installs systemd)");
        }
    }

    step("dpkg --remove, then --purge");
    dpkg(&["--remove", &m.name])?;
    let left: BTreeSet<String> = files_under(&r)?
        .into_iter()
        .filter(|f| !f.starts_with("var/lib/dpkg/"))
        .collect();
    let conf: BTreeSet<String> = m
        .conf_files
        .iter()
        .map(|c| c.trim_start_matches('/').to_owned())
        .collect();
    ensure!(
        left == conf,
        "after --remove, left: {left:?}; want the conffiles {conf:?}"
    );
    dpkg(&["--purge", &m.name])?;
    let left: Vec<String> = files_under(&r)?
        .into_iter()
        .filter(|f| !f.starts_with("var/lib/dpkg/"))
        .collect();
    ensure!(left.is_empty(), "after --purge, left: {left:?}");
    std::fs::remove_dir_all(&r)?;
    step("the .deb installs, lists, removes and purges cleanly");
    Ok(())
}
