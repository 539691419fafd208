//! One check attempt of each kind.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{CONNECTION, HOST, HeaderValue, USER_AGENT};
use hyper::{Request, Version};
use hyper_util::rt::TokioIo;
use md5::{Digest, Md5};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use crate::event::ProbeError;
use crate::spec::{ConnectOpts, HttpProtocol, HttpSpec, MiscSpec, UrlSpec};

/// A successful attempt's detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Success {
    Tcp,
    /// The last URL checked.
    Http(String),
    /// The script's exit code.
    Misc(u8),
    Dns,
    Smtp,
    Udp,
    Ping,
    /// FILE_CHECK's weight offset.
    File(i32),
}

/// A failed attempt: the error and, for HTTP, the URL path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub error: ProbeError,
    pub url: Option<String>,
}

impl From<ProbeError> for Failure {
    fn from(error: ProbeError) -> Self {
        Failure { error, url: None }
    }
}

/// How much of a body `regex` sees at most.
const REGEX_WINDOW: usize = 1 << 20;

/// Open a TCP connection with keepalived's connection options.
pub(crate) async fn connect(conn: &ConnectOpts, dst: SocketAddr) -> Result<TcpStream, ProbeError> {
    let sock = if dst.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| ProbeError::Socket(e.kind()))?;
    if let Some(src) = conn.source(dst) {
        if conn.bind_port.is_some() {
            sock.set_reuseaddr(true)
                .map_err(|e| ProbeError::Bind(e.kind()))?;
        }
        sock.bind(src).map_err(|e| ProbeError::Bind(e.kind()))?;
    }
    match timeout(conn.connect_timeout, sock.connect(dst)).await {
        Err(_) => Err(ProbeError::ConnectTimeout),
        Ok(Err(e)) => Err(ProbeError::Connect(e.kind())),
        Ok(Ok(s)) => Ok(s),
    }
}

/// TCP_CHECK: connect, then close (with a RST instead of a FIN when `reset`).
pub(crate) async fn tcp(
    conn: &ConnectOpts,
    target: SocketAddr,
    reset: bool,
) -> Result<Success, Failure> {
    let stream = connect(conn, conn.destination(target)).await?;
    if reset {
        // Zero linger: close() sends RST and leaves no TIME_WAIT; it never blocks.
        let _ = stream.set_zero_linger();
    }
    drop(stream);
    Ok(Success::Tcp)
}

/// Prepared TLS client side of SSL_GET.
#[derive(Clone)]
pub(crate) struct TlsClient {
    pub connector: TlsConnector,
    /// Explicit SNI name; `None` = derive from virtualhost or send none.
    pub sni: crate::spec::TlsSni,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("sni", &self.sni)
            .finish_non_exhaustive()
    }
}

fn host_header(http: &HttpSpec, url: &UrlSpec, dst: SocketAddr) -> String {
    match url.virtualhost.as_ref().or(http.virtualhost.as_ref()) {
        Some(v) => v.clone(),
        None => match dst {
            SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
            SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        },
    }
}

/// HTTP_GET / SSL_GET: every URL in order on its own connection; all must pass.
pub(crate) async fn http(
    conn: &ConnectOpts,
    http: &HttpSpec,
    tls: Option<&TlsClient>,
    target: SocketAddr,
) -> Result<Success, Failure> {
    let mut last = String::new();
    for url in &http.urls {
        http_one(conn, http, url, tls, target)
            .await
            .map_err(|error| Failure {
                error,
                url: Some(url.path.clone()),
            })?;
        last.clone_from(&url.path);
    }
    Ok(Success::Http(last))
}

async fn http_one(
    conn: &ConnectOpts,
    http: &HttpSpec,
    url: &UrlSpec,
    tls: Option<&TlsClient>,
    target: SocketAddr,
) -> Result<(), ProbeError> {
    let dst = conn.destination(target);
    let stream = connect(conn, dst).await?;
    let host = host_header(http, url, dst);
    match tls {
        None => exchange(stream, conn.connect_timeout, http.protocol, url, &host).await,
        Some(t) => {
            let vhost = url.virtualhost.as_ref().or(http.virtualhost.as_ref());
            let name = match &t.sni {
                crate::spec::TlsSni::Name(n) => Some(n.as_str()),
                crate::spec::TlsSni::FromVirtualhost => vhost.map(String::as_str),
                crate::spec::TlsSni::Off => None,
            };
            // rustls sends SNI only for DNS names; an IP address name means "no SNI".
            let server_name = match name.and_then(|n| ServerName::try_from(n.to_owned()).ok()) {
                Some(n) => n,
                None => ServerName::IpAddress(dst.ip().into()),
            };
            let tls_stream = match timeout(
                conn.connect_timeout,
                t.connector.connect(server_name, stream),
            )
            .await
            {
                Err(_) => return Err(ProbeError::ConnectTimeout),
                Ok(Err(_)) => return Err(ProbeError::Tls),
                Ok(Ok(s)) => s,
            };
            exchange(tls_stream, conn.connect_timeout, http.protocol, url, &host).await
        }
    }
}

async fn exchange<IO>(
    io: IO,
    limit: Duration,
    protocol: HttpProtocol,
    url: &UrlSpec,
    host: &str,
) -> Result<(), ProbeError>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let work = async {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|_| ProbeError::Http)?;
        let version = match protocol {
            HttpProtocol::Http11 => Version::HTTP_11,
            _ => Version::HTTP_10,
        };
        let mut req = Request::builder()
            .method("GET")
            .uri(url.path.as_str())
            .version(version)
            .body(Empty::<Bytes>::new())
            .map_err(|_| ProbeError::Http)?;
        let headers = req.headers_mut();
        headers.insert(USER_AGENT, HeaderValue::from_static("KeepAliveClient"));
        if protocol != HttpProtocol::Http10 {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        headers.insert(
            HOST,
            HeaderValue::from_str(host).map_err(|_| ProbeError::Http)?,
        );
        let request = async {
            let resp = sender
                .send_request(req)
                .await
                .map_err(|_| ProbeError::Http)?;
            let status = resp.status().as_u16();
            if !url.status_code.contains(status) {
                return Err(ProbeError::Status(status));
            }
            // Read the whole body like keepalived (closing with unread data would
            // make the kernel send a RST to the real server); hash it if asked to.
            let mut body = resp.into_body();
            let mut md5 = url.digest.map(|_| Md5::new());
            // regex: keep the start of the body (keepalived matches across reads with
            // PCRE2 partial matching; keel looks at the first REGEX_WINDOW bytes).
            let mut kept = Vec::new();
            let keep = url.regex.as_ref().map_or(0, |r| {
                r.window()
                    .map_or(REGEX_WINDOW, |w| w.saturating_add(4096))
                    .min(REGEX_WINDOW)
            });
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|_| ProbeError::Http)?;
                if let Some(data) = frame.data_ref() {
                    if let Some(h) = md5.as_mut() {
                        h.update(data);
                    }
                    let room = keep.saturating_sub(kept.len());
                    kept.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            if let (Some(want), Some(h)) = (&url.digest, md5)
                && h.finalize().as_slice() != want.0
            {
                return Err(ProbeError::Digest);
            }
            if let Some(re) = &url.regex
                && !re.passes(&kept)
            {
                return Err(ProbeError::Regex);
            }
            Ok(())
        };
        tokio::select! {
            r = request => r,
            // The connection future drives the I/O; when it ends first the request
            // future sees the error, so this branch only waits.
            _ = async { let _ = connection.await; std::future::pending::<()>().await } => {
                Err(ProbeError::Http)
            }
        }
    };
    match timeout(limit, work).await {
        Err(_) => Err(ProbeError::HttpTimeout),
        Ok(r) => r,
    }
}

/// MISC_CHECK: run the script (keel-script: its own process group, SIGTERM then
/// SIGKILL to the group 2 s later on timeout), return its exit code if it counts
/// as success.
pub(crate) async fn misc(spec: &MiscSpec, script: &keel_script::Spec) -> Result<Success, Failure> {
    match keel_script::run(script, &[]).await {
        keel_script::Outcome::Exited(0) => Ok(Success::Misc(0)),
        keel_script::Outcome::Exited(c @ 2..=255) if spec.dynamic => Ok(Success::Misc(c as u8)),
        keel_script::Outcome::Exited(c) => Err(ProbeError::Exit(c).into()),
        keel_script::Outcome::Signaled(s) => Err(ProbeError::Signal(s).into()),
        keel_script::Outcome::TimedOut => Err(ProbeError::ScriptTimeout.into()),
        keel_script::Outcome::SpawnFailed(k) => Err(ProbeError::Spawn(k).into()),
        _ => Err(ProbeError::Spawn(std::io::ErrorKind::Other).into()),
    }
}

/// Build the rustls client configuration of an SSL_GET check.
pub(crate) fn tls_config(
    verify: &crate::spec::TlsVerify,
) -> Result<Arc<rustls::ClientConfig>, crate::Error> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|_| crate::Error::Tls)?;
    let config = match verify {
        crate::spec::TlsVerify::Off => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth(),
        crate::spec::TlsVerify::CaPem(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|_| crate::Error::InvalidCa)?;
                roots.add(cert).map_err(|_| crate::Error::InvalidCa)?;
                n += 1;
            }
            if n == 0 {
                return Err(crate::Error::InvalidCa);
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// Accepts any server certificate (keepalived does not verify), but still checks the
/// handshake signatures so the TLS session itself is sound.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
