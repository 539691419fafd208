//! Per-instance statistics in the style of RFC 6527 (VRRPv3 MIB) /
//! RFC 8347 (VRRP YANG) / RFC 2787 (VRRPv2 MIB auth counters).

/// Why this router last became master (RFC 6527 `vrrpv3StatisticsNewMasterReason`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NewMasterReason {
    /// Never became master (`notMaster`).
    #[default]
    NotMaster,
    /// Address owner at startup (`priority`).
    Priority,
    /// Preempted a lower-priority master (`preempted`).
    Preempted,
    /// The master stopped advertising (`masterNoResponse`).
    MasterNoResponse,
}

/// Kinds of receive errors found before the machine sees an advert (by the
/// packet codec or the socket layer); report them with `Input::RxError` so
/// all counters live in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RxError {
    /// Bad VRRP checksum.
    Checksum,
    /// TTL / hop limit not 255.
    Ttl,
    /// Wrong or unknown VRRP version.
    Version,
    /// Truncated or overlong packet.
    PacketLength,
    /// Type is not ADVERTISEMENT.
    InvalidType,
    /// Advertisement interval of zero (malformed; counted with the interval
    /// mismatches, `advIntervalErrors`).
    Interval,
}

impl RxError {
    /// The counter a codec / receive-rule rejection belongs to, if any
    /// (`BufferTooSmall` and the like are not receive errors).
    pub fn from_packet_error(e: keel_packet::Error) -> Option<RxError> {
        use keel_packet::Error as E;
        Some(match e {
            E::BadChecksum => RxError::Checksum,
            E::BadTtl => RxError::Ttl,
            E::BadVersion => RxError::Version,
            E::Truncated | E::AddrCountMismatch | E::TooManyAddrs | E::BadIpHeader => {
                RxError::PacketLength
            }
            E::BadType => RxError::InvalidType,
            E::BadInterval => RxError::Interval,
            _ => return None,
        })
    }
}

/// Statistics of one instance. All counters wrap never (u64) and start at zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counters {
    /// Adverts accepted for processing (right vrid and version; `rcvdAdvertisements`).
    pub adverts_rx: u64,
    /// Adverts sent (one per destination).
    pub adverts_tx: u64,
    /// Priority-0 adverts received (`rcvdPriZeroPackets`).
    pub priority_zero_rx: u64,
    /// Priority-0 adverts sent (`sentPriZeroPackets`).
    pub priority_zero_tx: u64,
    /// v2 PASS key mismatches (`vrrpStatsAuthFailures`).
    pub auth_failures: u64,
    /// Unknown auth types (`vrrpStatsInvalidAuthType`).
    pub invalid_auth_type: u64,
    /// Auth type differs from ours (`vrrpStatsAuthTypeMismatch`).
    pub auth_type_mismatch: u64,
    /// Checksum errors (reported by the driver).
    pub checksum_errors: u64,
    /// TTL / hop-limit errors (reported by the driver).
    pub ttl_errors: u64,
    /// Version errors (wrong version in an advert, or reported by the driver).
    pub version_errors: u64,
    /// Adverts for another VRID delivered to this instance (ignored).
    pub vrid_errors: u64,
    /// Advertisement-interval mismatches and malformed (zero) intervals (`advIntervalErrors`).
    pub interval_errors: u64,
    /// Address-list mismatches (`addressListErrors`).
    pub address_list_errors: u64,
    /// Packet length errors (reported by the driver).
    pub packet_length_errors: u64,
    /// Invalid type (reported by the driver).
    pub invalid_type: u64,
    /// Transitions to Master (`masterTransitions`).
    pub master_transitions: u64,
    /// Times this Master gave way to an advert with a higher priority (or
    /// an equal one from a higher address): a new master took over, a real
    /// peer or a forged advert — VRRP cannot tell them apart.
    pub master_lost: u64,
    /// Priority-0 and lower-priority adverts a Master did not answer
    /// because it had answered one within the advertisement interval.
    pub answers_suppressed: u64,
    /// Why we last became master.
    pub new_master_reason: NewMasterReason,
}
