//! SMTP_CHECK: banner 220, `HELO`, 250, `QUIT`.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::event::{ProbeError, SmtpFailure};
use crate::probe::{Failure, Success, connect};
use crate::spec::{ConnectOpts, SmtpSpec};

/// keepalived's line buffer (`SMTP_BUFF_MAX`): a longer reply line fails the check.
const LINE_MAX: u64 = 512;

/// Read one reply (all its `NNN-` continuation lines) and return its code, or `None`
/// when the last line does not start with three digits and a space (or ends there).
async fn reply(r: &mut BufReader<TcpStream>) -> Result<Option<u16>, SmtpFailure> {
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = tokio::io::AsyncReadExt::take(&mut *r, LINE_MAX)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|_| SmtpFailure::Read)?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Err(SmtpFailure::Read);
        }
        let text = line.trim_ascii_end();
        if text.len() >= 4 && text[3] == b'-' {
            continue;
        }
        let code = (text.len() >= 3
            && text[..3].iter().all(u8::is_ascii_digit)
            && text.get(3).is_none_or(|c| *c == b' '))
        .then(|| {
            text[..3]
                .iter()
                .fold(0u16, |a, d| a * 10 + u16::from(d - b'0'))
        });
        return Ok(code);
    }
}

/// One SMTP_CHECK attempt.
pub(crate) async fn smtp(
    conn: &ConnectOpts,
    spec: &SmtpSpec,
    target: SocketAddr,
) -> Result<Success, Failure> {
    let dest = conn.destination(target);
    let fail = |what| Failure::from(ProbeError::Smtp { dest, what });
    let stream = match connect(conn, dest).await {
        Ok(s) => s,
        // keepalived: ETIMEDOUT is a timeout, any other connect error "could not
        // connect", a socket or bind error "error connecting"
        Err(ProbeError::ConnectTimeout | ProbeError::Connect(std::io::ErrorKind::TimedOut)) => {
            return Err(fail(SmtpFailure::ConnectTimeout));
        }
        Err(ProbeError::Connect(_)) => return Err(fail(SmtpFailure::CouldNotConnect)),
        Err(_) => return Err(fail(SmtpFailure::Connect)),
    };
    let limit = conn.connect_timeout;
    let mut r = BufReader::new(stream);
    // keepalived bounds every read and write by connect_timeout
    let read = async |r: &mut BufReader<TcpStream>| match timeout(limit, reply(r)).await {
        Err(_) => Err(SmtpFailure::ReadTimeout),
        Ok(x) => x,
    };
    let write = async |r: &mut BufReader<TcpStream>, line: String| match timeout(
        limit,
        r.get_mut().write_all(line.as_bytes()),
    )
    .await
    {
        Err(_) => Err(SmtpFailure::WriteTimeout),
        Ok(Err(_)) => Err(SmtpFailure::Write),
        Ok(Ok(())) => Ok(()),
    };
    if read(&mut r).await.map_err(fail)? != Some(220) {
        return Err(fail(SmtpFailure::Banner));
    }
    write(&mut r, format!("HELO {}\r\n", spec.helo_name))
        .await
        .map_err(fail)?;
    if read(&mut r).await.map_err(fail)? != Some(250) {
        return Err(fail(SmtpFailure::Helo));
    }
    write(&mut r, "QUIT\r\n".to_owned()).await.map_err(fail)?;
    read(&mut r).await.map_err(fail)?;
    Ok(Success::Smtp)
}
