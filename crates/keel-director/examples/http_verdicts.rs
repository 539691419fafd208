//! A director for one hand-built virtual service whose real servers' health comes from
//! the embedder's own HTTP endpoint instead of keel-check:
//!
//!   cargo run -p keel-director --example http_verdicts [-- --kernel]
//!   curl -X POST 127.0.0.1:8080/down/192.0.2.12:80   # Removing service ... from VS ...
//!   curl 127.0.0.1:8080/status
//!
//! Without `--kernel` (root and the ip_vs module) the table lives in memory.
use std::convert::Infallible;

use hyper::{Method, Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use keel_director::{
    AddressSource, DirectorSpec, DriverHandle, DriverOptions, FakeIpvs, RealServerSpec, Verdict,
    VirtualServerSpec,
};
use keel_ipvs::{Forward, ServiceKey};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let vip = ServiceKey::tcp("192.0.2.250".parse()?, 80);
    let mut vs = VirtualServerSpec::new(vip, Forward::Route);
    for r in ["192.0.2.12:80", "192.0.2.13:80"] {
        vs = vs.real_server(RealServerSpec::new(r.parse()?).external());
    }
    vs.sorry_server = Some("192.0.2.99:80".parse()?);
    let label = vs.label.clone();

    let mut opts = DriverOptions::new().addresses(AddressSource::Embedder);
    if !std::env::args().any(|a| a == "--kernel") {
        opts = opts.ipvs(FakeIpvs::new());
    }
    let (tx, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let director = DriverHandle::spawn(DirectorSpec::new(vec![vs]), opts, tx);
    tokio::spawn(async move {
        while let Some(r) = reports.recv().await {
            eprintln!("{r}");
        }
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            Ok((stream, _)) = listener.accept() => {
                let (d, label) = (director.clone(), label.clone());
                let svc = service_fn(move |req| answer(req, d.clone(), label.clone()));
                tokio::spawn(hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc));
            }
        }
    }
    director.shutdown().await; // removes what it added to IPVS
    Ok(())
}

/// `POST /up/ADDR:PORT`, `POST /down/ADDR:PORT`, `GET /status`.
async fn answer(
    req: Request<Incoming>,
    d: DriverHandle,
    label: String,
) -> Result<Response<String>, Infallible> {
    let path: Vec<&str> = req.uri().path().trim_matches('/').split('/').collect();
    let (code, body) = match (req.method(), path.as_slice()) {
        (&Method::GET, ["status"]) => (StatusCode::OK, keel_director::render(&d.status())),
        (&Method::POST, [verb @ ("up" | "down"), addr]) => match addr.parse() {
            Ok(a) => {
                d.verdict(Verdict::new(label, a, *verb == "up"));
                (StatusCode::OK, "ok\n".into())
            }
            Err(e) => (StatusCode::BAD_REQUEST, format!("{addr}: {e}\n")),
        },
        _ => (StatusCode::NOT_FOUND, "see the example's docs\n".into()),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = code;
    Ok(resp)
}
