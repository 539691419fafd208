//! GoBGP backend: gobgpd's gRPC API (`AddPath`, `DeletePath`, `ListPath`,
//! `WatchEvent`), with a client generated from the proto files of the
//! GoBGP Debian ships (3.10.0).

use std::net::IpAddr;
use std::time::Duration;

use prost::Message;
use tonic::transport::{Channel, Endpoint};

use crate::api::{self, gobgp_api_client::GobgpApiClient};
use crate::{Error, Prefix, Speaker, SpeakerEvent};

/// Announces through gobgpd's gRPC API (`-api-hosts`, default
/// `127.0.0.1:50051`). Paths go to the global RIB with next hop "self"
/// (`0.0.0.0` / `::`: gobgpd puts its own address toward each peer).
///
/// GoBGP has no BFD: a crashed director is noticed by the router only at
/// the BGP hold timer.
#[derive(Debug)]
pub struct GoBgp {
    endpoint: String,
    client: Option<GobgpApiClient<Channel>>,
    events: Option<tonic::Streaming<api::WatchEventResponse>>,
}

impl GoBgp {
    /// A speaker for the gobgpd API at `addr` (`HOST:PORT`).
    pub fn new(addr: impl Into<String>) -> GoBgp {
        GoBgp {
            endpoint: addr.into(),
            client: None,
            events: None,
        }
    }

    fn client(&mut self) -> Result<&mut GobgpApiClient<Channel>, Error> {
        self.client.as_mut().ok_or(Error::Closed)
    }

    /// The prefixes in gobgpd's global RIB for `prefix`'s family (all
    /// sources, as `gobgp global rib` lists them).
    pub async fn list(&mut self, ipv4: bool) -> Result<Vec<Prefix>, Error> {
        let req = api::ListPathRequest {
            table_type: api::TableType::Global as i32,
            family: Some(family(ipv4)),
            ..Default::default()
        };
        let mut stream = self.client()?.list_path(req).await?.into_inner();
        let mut out = Vec::new();
        while let Some(r) = stream.message().await? {
            if let Some(d) = r.destination {
                let p = d
                    .prefix
                    .parse()
                    .map_err(|_| Error::Protocol(format!("prefix `{}`", d.prefix)))?;
                out.push(p);
            }
        }
        Ok(out)
    }
}

fn any<M: Message>(name: &str, m: &M) -> prost_types::Any {
    prost_types::Any {
        type_url: format!("type.googleapis.com/apipb.{name}"),
        value: m.encode_to_vec(),
    }
}

fn family(ipv4: bool) -> api::Family {
    api::Family {
        afi: if ipv4 {
            api::family::Afi::Ip
        } else {
            api::family::Afi::Ip6
        } as i32,
        safi: api::family::Safi::Unicast as i32,
    }
}

fn path(p: Prefix) -> api::Path {
    let nlri = any(
        "IPAddressPrefix",
        &api::IpAddressPrefix {
            prefix_len: u32::from(p.prefix_len()),
            prefix: p.addr().to_string(),
        },
    );
    let origin = any("OriginAttribute", &api::OriginAttribute { origin: 0 });
    let hop = if p.is_ipv4() {
        any(
            "NextHopAttribute",
            &api::NextHopAttribute {
                next_hop: "0.0.0.0".into(),
            },
        )
    } else {
        any(
            "MpReachNLRIAttribute",
            &api::MpReachNlriAttribute {
                family: Some(family(false)),
                next_hops: vec!["::".into()],
                nlris: vec![nlri.clone()],
            },
        )
    };
    api::Path {
        nlri: Some(nlri),
        pattrs: vec![origin, hop],
        family: Some(family(p.is_ipv4())),
        ..Default::default()
    }
}

impl Speaker for GoBgp {
    async fn connect(&mut self) -> Result<(), Error> {
        self.client = None;
        self.events = None;
        let ch = Endpoint::from_shared(format!("http://{}", self.endpoint))?
            .connect_timeout(Duration::from_secs(2))
            .connect()
            .await?;
        let mut client = GobgpApiClient::new(ch);
        // The peer-state stream: its end is how a gobgpd exit shows.
        let req = api::WatchEventRequest {
            peer: Some(api::watch_event_request::Peer {}),
            table: None,
        };
        let events = client.watch_event(req).await?.into_inner();
        self.client = Some(client);
        self.events = Some(events);
        Ok(())
    }

    async fn announce(&mut self, prefix: Prefix) -> Result<(), Error> {
        let req = api::AddPathRequest {
            table_type: api::TableType::Global as i32,
            vrf_id: String::new(),
            path: Some(path(prefix)),
        };
        self.client()?.add_path(req).await?;
        Ok(())
    }

    async fn withdraw(&mut self, prefix: Prefix) -> Result<(), Error> {
        let req = api::DeletePathRequest {
            table_type: api::TableType::Global as i32,
            family: Some(family(prefix.is_ipv4())),
            path: Some(path(prefix)),
            ..Default::default()
        };
        self.client()?.delete_path(req).await?;
        Ok(())
    }

    async fn watch(&mut self) -> Result<SpeakerEvent, Error> {
        let Some(stream) = self.events.as_mut() else {
            return std::future::pending().await;
        };
        loop {
            let Some(msg) = stream.message().await? else {
                return Err(Error::Closed);
            };
            let Some(api::watch_event_response::Event::Peer(ev)) = msg.event else {
                continue;
            };
            let Some(state) = ev.peer.and_then(|p| p.state) else {
                continue;
            };
            let Ok(addr) = state.neighbor_address.parse::<IpAddr>() else {
                continue;
            };
            let up = state.session_state == api::peer_state::SessionState::Established as i32;
            return Ok(SpeakerEvent::Peer { addr, up });
        }
    }

    fn kind(&self) -> &'static str {
        "gobgp"
    }
}
