//! The announced thing: an IP prefix (usually a VIP's /32 or /128).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A network prefix: an address with no host bits set and a length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

/// Why a [`Prefix`] was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrefixError {
    /// Not `ADDRESS` or `ADDRESS/LEN`.
    #[error("`{0}` is not an IP prefix (ADDRESS[/LEN])")]
    Syntax(String),
    /// The length exceeds the address width.
    #[error("prefix length {len} is longer than the address ({max} bits)")]
    TooLong {
        /// Given length.
        len: u8,
        /// Address width.
        max: u8,
    },
    /// Bits set after the prefix length.
    #[error("{addr}/{len} has host bits set")]
    HostBits {
        /// Given address.
        addr: IpAddr,
        /// Given length.
        len: u8,
    },
}

impl Prefix {
    /// `addr/len`; rejects lengths beyond the address and host bits set.
    pub fn new(addr: IpAddr, len: u8) -> Result<Prefix, PrefixError> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(PrefixError::TooLong { len, max });
        }
        if masked(addr, len) != addr {
            return Err(PrefixError::HostBits { addr, len });
        }
        Ok(Prefix { addr, len })
    }

    /// The host prefix of `addr` (/32 or /128): what a VIP announces.
    pub fn host(addr: IpAddr) -> Prefix {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        Prefix { addr, len }
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// True for IPv4.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }
}

fn masked(a: IpAddr, len: u8) -> IpAddr {
    match a {
        IpAddr::V4(v) => {
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((u32::from(v) & m).into())
        }
        IpAddr::V6(v) => {
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((u128::from(v) & m).into())
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;
    fn from_str(s: &str) -> Result<Prefix, PrefixError> {
        let syntax = || PrefixError::Syntax(s.to_owned());
        match s.split_once('/') {
            None => s.parse().map(Prefix::host).map_err(|_| syntax()),
            Some((a, l)) => {
                let addr: IpAddr = a.parse().map_err(|_| syntax())?;
                let len: u8 = l.parse().map_err(|_| syntax())?;
                Prefix::new(addr, len)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks() {
        assert_eq!(
            "192.0.2.10".parse::<Prefix>().map(|p| p.to_string()),
            Ok("192.0.2.10/32".into())
        );
        assert_eq!(
            "2001:db8::/32".parse::<Prefix>().map(|p| p.prefix_len()),
            Ok(32)
        );
        assert!(matches!(
            "192.0.2.1/24".parse::<Prefix>(),
            Err(PrefixError::HostBits { .. })
        ));
        assert!(matches!(
            "192.0.2.0/33".parse::<Prefix>(),
            Err(PrefixError::TooLong { .. })
        ));
        assert!(matches!(
            "x/1".parse::<Prefix>(),
            Err(PrefixError::Syntax(_))
        ));
        assert_eq!("0.0.0.0/0".parse::<Prefix>().map(|p| p.prefix_len()), Ok(0));
    }
}
