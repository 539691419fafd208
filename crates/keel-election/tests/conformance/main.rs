//! The UNH-IOL "Virtual Router Redundancy Protocol Operations Test Suite"
//! (Routing Consortium, technical document revision 2.5, 2006), groups 2–4,
//! as tests: one test per case, named `case_<group>_<n>_...` after the
//! suite's "Test VRRP.<group>.<n>". `docs/conformance.md` lists every case
//! with what it checks and the test that checks it.
//!
//! The suite's table of contents gives the case numbers and titles; the case
//! bodies could not be retrieved, so each test checks the RFC 3768 (VRRPv2,
//! which the 2006 suite targets) rule its title names, and the RFC 5798
//! (VRRPv3) counterpart where it differs. Times are exact microseconds on
//! the deterministic simulator or on a bare [`keel_election::Instance`]; the
//! expected values are written out as literals (with the formula beside
//! them), never computed by the code under test.
//!
//! * `group2`: the state machine (RFC 3768 §6.4): Initialize, Backup, Master.
//! * `group3`: the per-router parameters (§6.1): Advertisement_Interval,
//!   Skew_Time, Master_Down_Interval, Preempt_Mode.
//! * `group4`: reception (§7.1) with real bytes: each invalid advert is
//!   built on the wire (IPv4 header included), taken through the receive
//!   path a driver uses (keel-packet's `rx::split_ipv4`, `rx::check`,
//!   `VrrpPacket::new_checked`, `VrrpRepr::parse`, then `Instance::handle`),
//!   and must be dropped for the right reason, counted in the right counter,
//!   and leave the Master_Down_Timer where it was; and transmission (4.9).
//!
//! Cases 2.2 and 2.5 (a Backup must not answer ARP for the virtual
//! addresses, the Master must) also run on real kernels, with keeld in
//! network namespaces: `crates/keeld/tests/conformance.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure should panic

mod common;
mod group2;
mod group3;
mod group4;
