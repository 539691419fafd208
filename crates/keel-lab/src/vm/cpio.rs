//! A "newc" cpio archive, as the kernel's initramfs unpacker reads it.
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// An initramfs being assembled: path (no leading /) -> entry.
#[derive(Debug, Default)]
pub struct Cpio {
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug)]
enum Entry {
    Dir,
    File { mode: u32, data: Vec<u8> },
    Link(String),
}

impl Cpio {
    pub fn dir(&mut self, p: &str) {
        let mut acc = String::new();
        for part in p.split('/').filter(|s| !s.is_empty()) {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(part);
            self.entries.entry(acc.clone()).or_insert(Entry::Dir);
        }
    }
    pub fn parent(&mut self, p: &str) {
        if let Some((d, _)) = p.rsplit_once('/') {
            self.dir(d);
        }
    }
    pub fn file(&mut self, p: &str, mode: u32, data: Vec<u8>) {
        self.parent(p);
        self.entries.insert(p.into(), Entry::File { mode, data });
    }
    pub fn link(&mut self, p: &str, target: &str) {
        self.parent(p);
        self.entries.insert(p.into(), Entry::Link(target.into()));
    }
    pub fn copy(&mut self, p: &str, host: &Path) -> Result<()> {
        let data = std::fs::read(host).with_context(|| format!("read {}", host.display()))?;
        self.file(p, 0o755, data);
        Ok(())
    }
    /// "newc" format, as the kernel's initramfs unpacker reads it.
    pub fn write(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut ino = 1u32;
        let mut put = |name: &str, mode: u32, data: &[u8]| {
            let namez = name.len() + 1;
            let hdr = format!(
                "070701{ino:08X}{mode:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{namez:08X}{:08X}",
                0,
                0,
                1,
                0,
                data.len(),
                0,
                0,
                0,
                0,
                0
            );
            ino += 1;
            out.extend_from_slice(hdr.as_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            while out.len() % 4 != 0 {
                out.push(0);
            }
            out.extend_from_slice(data);
            while out.len() % 4 != 0 {
                out.push(0);
            }
        };
        for (p, e) in &self.entries {
            match e {
                Entry::Dir => put(p, 0o040755, &[]),
                Entry::File { mode, data } => put(p, 0o100000 | mode, data),
                Entry::Link(t) => put(p, 0o120777, t.as_bytes()),
            }
        }
        put("TRAILER!!!", 0, &[]);
        out
    }
}
