//! The lean connection of the call scenarios: WebSocket frames written
//! and read by hand on the TCP stream, so that the load generator does no
//! more per call than it must. Each connection encodes its call frames
//! once (one per call slot, masked with the all-zero key, which RFC 6455
//! allows and which makes masking a no-op) and writes the same bytes again
//! each time a slot's reply comes; replies are matched by scanning their
//! bytes for the id and the sum, without building a JSON tree. The
//! handshake is done by hand too.

use super::client;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The protocol `math.add` is called in: zocket's (zocket, minimal,
/// raw), JSON-RPC 2.0 (jsonrpsee), or Socket.IO events with
/// acknowledgements (socketioxide).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    Zocket,
    JsonRpc,
    SocketIo,
}

/// What a server frame was, to the caller.
pub(crate) enum Reply {
    /// The reply to call `id`, with its sum.
    Sum(u64, f64),
    /// Engine.IO's ping: answer `3`.
    Ping,
}

impl Proto {
    pub(crate) fn of(server: &str) -> Self {
        match server {
            "jsonrpsee" => Self::JsonRpc,
            "socketioxide" => Self::SocketIo,
            _ => Self::Zocket,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::SocketIo => "/socket.io/?EIO=4&transport=websocket",
            Self::Zocket | Self::JsonRpc => "/",
        }
    }

    /// The call `id + 1` with id `id`, as a masked client frame.
    pub(crate) fn call(self, route: &str, id: u64) -> Vec<u8> {
        let text = match self {
            Self::Zocket => {
                format!(r#"{{"type":"{route}","payload":{{"a":{id},"b":1}},"rpcId":"{id}"}}"#)
            }
            Self::JsonRpc => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"{route}","params":{{"a":{id},"b":1}}}}"#
            ),
            Self::SocketIo => format!(r#"42{id}["{route}",{{"a":{id},"b":1}}]"#),
        };
        client_frame(text.as_bytes())
    }

    /// A server text frame's meaning, read from its bytes.
    pub(crate) fn reply(self, text: &[u8]) -> Result<Reply, String> {
        let bad = || format!("unexpected frame {}", String::from_utf8_lossy(text));
        match self {
            Self::Zocket => {
                let rest = text
                    .strip_prefix(br#"{"type":"__rpc_res","rpcId":""#)
                    .ok_or_else(bad)?;
                let (id, rest) = digits(rest).ok_or_else(bad)?;
                let rest = rest.strip_prefix(br#"","payload":"#).ok_or_else(bad)?;
                let sum = number(rest.strip_suffix(b"}").ok_or_else(bad)?).ok_or_else(bad)?;
                Ok(Reply::Sum(id, sum))
            }
            Self::JsonRpc => {
                // Members in any order: `"id":N` and `"result":X`.
                let after = |key: &[u8]| {
                    text.windows(key.len())
                        .position(|w| w == key)
                        .map(|at| &text[at + key.len()..])
                };
                let (id, _) = after(br#""id":"#).and_then(digits).ok_or_else(bad)?;
                let result = after(br#""result":"#).ok_or_else(bad)?;
                let end = result
                    .iter()
                    .position(|b| matches!(b, b',' | b'}'))
                    .ok_or_else(bad)?;
                Ok(Reply::Sum(id, number(&result[..end]).ok_or_else(bad)?))
            }
            Self::SocketIo => {
                if text == b"2" {
                    return Ok(Reply::Ping);
                }
                let rest = text.strip_prefix(b"43").ok_or_else(bad)?;
                let (id, rest) = digits(rest).ok_or_else(bad)?;
                let inner = rest
                    .strip_prefix(b"[")
                    .and_then(|rest| rest.strip_suffix(b"]"))
                    .ok_or_else(bad)?;
                Ok(Reply::Sum(id, number(inner).ok_or_else(bad)?))
            }
        }
    }
}

/// A decimal integer at the start of `bytes`, and what follows it.
fn digits(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let end = bytes.iter().position(|b| !b.is_ascii_digit())?;
    if end == 0 {
        return None;
    }
    let mut n = 0u64;
    for b in &bytes[..end] {
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some((n, &bytes[end..]))
}

/// A JSON number, all of `bytes`.
fn number(bytes: &[u8]) -> Option<f64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// A masked (all-zero key) client text frame of `payload`.
pub(crate) fn client_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x81);
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=65535 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(payload);
    out
}

/// One connection: the stream and what was read of it.
pub(crate) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Where the unread bytes of `buf` start.
    at: usize,
}

/// A frame read: its opcode and where its payload is in the buffer.
pub(crate) struct Frame {
    pub(crate) opcode: u8,
    start: usize,
    end: usize,
}

impl Conn {
    /// Connects, upgrades and does the protocol's opening exchange.
    pub(crate) async fn open(proto: Proto, addr: SocketAddr) -> Result<Self, String> {
        let open = async {
            let mut stream = client::tcp_connect(addr).await?;
            let request = format!(
                "GET {} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                proto.path()
            );
            stream
                .write_all(request.as_bytes())
                .await
                .map_err(|err| err.to_string())?;
            let mut conn = Self {
                stream,
                buf: Vec::with_capacity(64 * 1024),
                at: 0,
            };
            let head_end = loop {
                if let Some(end) = conn.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break end + 4;
                }
                conn.fill().await?;
            };
            if !conn.buf.starts_with(b"HTTP/1.1 101") {
                return Err(format!(
                    "upgrade refused: {}",
                    String::from_utf8_lossy(&conn.buf[..head_end])
                ));
            }
            conn.at = head_end;
            match proto {
                Proto::Zocket => {
                    let ready = conn.text().await?;
                    let kind = br#""type":"__ready""#;
                    if !ready.windows(kind.len()).any(|w| w == kind) {
                        return Err("the first frame is not __ready".into());
                    }
                }
                Proto::JsonRpc => {}
                Proto::SocketIo => {
                    if !conn.text().await?.starts_with(b"0") {
                        return Err("no Engine.IO open packet".into());
                    }
                    conn.write(&client_frame(b"40")).await?;
                    loop {
                        let packet = conn.text().await?;
                        if packet.starts_with(b"40") {
                            break;
                        }
                        if packet != b"2" {
                            return Err("no Socket.IO connect packet".into());
                        }
                        conn.write(&client_frame(b"3")).await?;
                    }
                }
            }
            Ok(conn)
        };
        tokio::time::timeout(client::CONNECT_TIMEOUT, open)
            .await
            .unwrap_or_else(|_| Err("connect: timed out".into()))
    }

    /// Writes `bytes` whole.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|err| err.to_string())
    }

    /// Reads more bytes (within the read timeout); an error at the end of
    /// the stream.
    pub(crate) async fn fill(&mut self) -> Result<(), String> {
        if self.at > 0 && self.at == self.buf.len() {
            self.buf.clear();
            self.at = 0;
        } else if self.at > 32 * 1024 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        let read = tokio::time::timeout(client::READ_TIMEOUT, self.stream.read_buf(&mut self.buf))
            .await
            .map_err(|_| format!("nothing read within {:?}", client::READ_TIMEOUT))?
            .map_err(|err| err.to_string())?;
        if read == 0 {
            return Err("connection ended".into());
        }
        Ok(())
    }

    /// The next complete frame already read, if any (servers do not mask;
    /// control frames and text frames are not fragmented by these servers).
    pub(crate) fn next_frame(&mut self) -> Option<Frame> {
        let bytes = &self.buf[self.at..];
        if bytes.len() < 2 {
            return None;
        }
        let opcode = bytes[0] & 0x0f;
        let (len, header) = match bytes[1] & 0x7f {
            126 if bytes.len() >= 4 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            127 if bytes.len() >= 10 => (
                usize::try_from(u64::from_be_bytes(bytes[2..10].try_into().ok()?)).ok()?,
                10,
            ),
            126 | 127 => return None,
            len => (usize::from(len), 2),
        };
        if bytes.len() < header + len {
            return None;
        }
        let start = self.at + header;
        self.at = start + len;
        Some(Frame {
            opcode,
            start,
            end: start + len,
        })
    }

    /// The payload of a frame returned by [`next_frame`](Self::next_frame).
    pub(crate) fn payload(&self, frame: &Frame) -> &[u8] {
        &self.buf[frame.start..frame.end]
    }

    /// The next text frame's payload, skipping pings.
    pub(crate) async fn text(&mut self) -> Result<Vec<u8>, String> {
        loop {
            while let Some(frame) = self.next_frame() {
                match frame.opcode {
                    1 => return Ok(self.payload(&frame).to_vec()),
                    8 => return Err("closed by the server".into()),
                    _ => {}
                }
            }
            self.fill().await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_from_their_bytes() {
        let zocket = br#"{"type":"__rpc_res","rpcId":"17","payload":18.0}"#;
        assert!(matches!(Proto::Zocket.reply(zocket), Ok(Reply::Sum(17, s)) if s == 18.0));
        let jsonrpc = br#"{"jsonrpc":"2.0","id":5,"result":6.0}"#;
        assert!(matches!(Proto::JsonRpc.reply(jsonrpc), Ok(Reply::Sum(5, s)) if s == 6.0));
        let jsonrpc = br#"{"jsonrpc":"2.0","result":6.0,"id":5}"#;
        assert!(matches!(Proto::JsonRpc.reply(jsonrpc), Ok(Reply::Sum(5, s)) if s == 6.0));
        assert!(matches!(Proto::SocketIo.reply(b"439[10.0]"), Ok(Reply::Sum(9, s)) if s == 10.0));
        assert!(matches!(Proto::SocketIo.reply(b"2"), Ok(Reply::Ping)));
        for bad in [
            &br#"{"type":"__rpc_err","rpcId":"1","error":{}}"#[..],
            br#"{"type":"__rpc_res","rpcId":"x","payload":1}"#,
            br#"{"type":"__rpc_res","rpcId":"1","payload":"one"}"#,
        ] {
            assert!(Proto::Zocket.reply(bad).is_err());
        }
    }

    #[test]
    fn client_frames_are_masked_with_the_zero_key() {
        let short = client_frame(b"hi");
        assert_eq!(short, [0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
        let long = client_frame(&[b'x'; 300]);
        assert_eq!(&long[..4], &[0x81, 0x80 | 126, 1, 44]);
        assert_eq!(long.len(), 4 + 4 + 300);
    }
}
