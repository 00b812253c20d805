//! What both servers and the load generator agree on: route and event
//! names, payload types, and the port a server listens on.

use serde::{Deserialize, Serialize};

/// The call that adds two numbers.
pub const ADD: &str = "math.add";
/// `math.add` with declared constraints on its input (zocket only): what
/// checking them costs.
pub const ADD_CHECKED: &str = "math.addChecked";
/// The call that joins a room.
pub const JOIN: &str = "room.join";
/// The call that sends [`MSG`] to every member of a room.
pub const PUBLISH: &str = "room.publish";
/// The event [`PUBLISH`] sends.
pub const MSG: &str = "room.msg";
/// The call whose reply is a string of the requested length.
pub const BLOB: &str = "math.blob";
/// The stream of [`Item`]s (on jsonrpsee: the subscribe method).
pub const STREAM: &str = "stream.count";
/// jsonrpsee's notification of one [`Item`].
pub const STREAM_ITEM: &str = "stream.item";
/// jsonrpsee's unsubscribe method.
pub const STREAM_UNSUBSCRIBE: &str = "stream.unsubscribe";

/// The input of `stream.count`: how many items to send.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Count {
    /// Items to send.
    pub count: u64,
}

/// An item of `stream.count`.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Item {
    /// Its number, from 1.
    pub i: u64,
    /// When the server made it: microseconds since the Unix epoch (the
    /// load generator on the same machine reads the same clock).
    pub ts: u64,
}

impl Item {
    /// Item `i`, stamped now.
    pub fn now(i: u64) -> Self {
        Self { i, ts: wall_us() }
    }
}

/// Microseconds since the Unix epoch.
pub fn wall_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        })
}

/// The input of `math.add`.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Add {
    /// The first term.
    pub a: f64,
    /// The second term.
    pub b: f64,
}

/// The input of `math.addChecked`: [`Add`] with declared ranges, which
/// zocket checks before the handler runs.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AddChecked {
    /// The first term.
    #[schemars(range(min = -1e15, max = 1e15))]
    pub a: f64,
    /// The second term.
    #[schemars(range(min = -1e15, max = 1e15))]
    pub b: f64,
}

/// The input of `room.join`.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Join {
    /// The room to join.
    pub room: String,
}

/// The input of `room.publish`.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Publish {
    /// The room whose members get the event.
    pub room: String,
    /// A timestamp chosen by the publisher, carried in the event as is.
    pub ts: f64,
}

/// The input of `math.blob`.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Blob {
    /// The length of the reply string, at most [`Blob::MAX`].
    pub bytes: usize,
}

impl Blob {
    /// The longest reply `math.blob` gives, in bytes (1 MiB).
    pub const MAX: usize = 1 << 20;

    /// The reply: `bytes` times `x`, or `None` past [`Blob::MAX`].
    pub fn reply(&self) -> Option<String> {
        (self.bytes <= Self::MAX).then(|| "x".repeat(self.bytes))
    }
}

/// The payload of the event `room.msg`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Msg {
    /// The publisher's timestamp.
    pub ts: f64,
}

/// Takes `--redis URL` out of `args`, if there.
pub fn take_redis(args: &mut Vec<String>) -> Result<Option<String>, String> {
    let Some(at) = args.iter().position(|arg| arg == "--redis") else {
        return Ok(None);
    };
    if at + 1 >= args.len() {
        return Err("--redis needs a URL (redis://127.0.0.1:6379)".into());
    }
    let url = args.remove(at + 1);
    args.remove(at);
    Ok(Some(url))
}

/// The port to listen on: `--port N`, else the `PORT` variable, else 3000.
pub fn port() -> Result<u16, String> {
    port_from(std::env::args().skip(1))
}

/// [`port`] from the given arguments, which may hold nothing else.
pub fn port_from(args: impl IntoIterator<Item = String>) -> Result<u16, String> {
    let mut args = args.into_iter();
    let mut given = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => given = Some(args.next().ok_or("--port needs a value")?),
            other => match other.strip_prefix("--port=") {
                Some(value) => given = Some(value.to_owned()),
                None => return Err(format!("unknown argument {other:?} (only --port N)")),
            },
        }
    }
    let given = given.or_else(|| std::env::var("PORT").ok());
    match given {
        Some(port) => port
            .parse()
            .map_err(|_| format!("the port must be a number from 0 to 65535, got {port:?}")),
        None => Ok(3000),
    }
}
