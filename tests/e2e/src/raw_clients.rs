//! Raw-socket clients that misbehave on purpose (blocking; run them on threads or
//! `spawn_blocking`): a connection with timeouts, a byte-at-a-time sender, and what the
//! server did with the connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A connection to the app with read/write timeouts.
pub fn connect(port: u16, timeout: Duration) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// What the server did with a connection that misbehaved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It answered: status line code.
    Answered(u16),
    /// It closed (EOF or reset) without an answer.
    Closed,
    /// Still open and silent when we gave up.
    StillOpen,
}

/// Reads until a status line or EOF; `Answered(code)`, `Closed` or `StillOpen` (read
/// timed out). The stream's read timeout bounds each read.
pub fn read_outcome(s: &mut TcpStream, deadline: Instant) -> Outcome {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(code) = status_code(&buf) {
            return Outcome::Answered(code);
        }
        if Instant::now() >= deadline {
            return Outcome::StillOpen;
        }
        match s.read(&mut chunk) {
            Ok(0) => {
                return match status_code(&buf) {
                    Some(c) => Outcome::Answered(c),
                    None => Outcome::Closed,
                };
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => return Outcome::Closed,
        }
    }
}

fn status_code(buf: &[u8]) -> Option<u16> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&buf[..line_end]).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Sends `data` one byte every `gap` until `deadline`, the data runs out, or the server
/// stops accepting bytes. Returns how many bytes went out.
pub fn trickle(s: &mut TcpStream, data: &[u8], gap: Duration, deadline: Instant) -> usize {
    let mut sent = 0;
    for b in data {
        if Instant::now() >= deadline {
            break;
        }
        if s.write_all(&[*b]).and_then(|_| s.flush()).is_err() {
            break;
        }
        sent += 1;
        std::thread::sleep(gap);
    }
    sent
}
