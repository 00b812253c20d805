//! A typed Rust client of the chat example. Start the server with
//! `cargo run -p chat`, then run `cargo run -p chat-client` (set `PORT` if
//! the server uses another port, `NAME`, `ROOM` and `TEXT` to change what
//! is sent). It joins a room, sends a message, and prints the event it
//! gets back.

use chat::{ChatClient, ChatHeaders, RoomInput, SendInput};
use futures_util::StreamExt;
use std::time::Duration;
use zocket::client::ConnectError;

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = format!("ws://127.0.0.1:{}/ws", var("PORT", "3000"));
    let (name, room, text) = (
        var("NAME", "rustacean"),
        var("ROOM", "general"),
        var("TEXT", "hello from Rust"),
    );
    let client = match ChatClient::connect(&url, &ChatHeaders { name }).await {
        Ok(client) => client,
        Err(ConnectError::Transport(err)) => {
            return Err(format!(
                "no chat server answers at {url} ({err}): start it with `cargo run -p chat`, \
                 or set PORT to the port it uses"
            )
            .into());
        }
        Err(err) => return Err(err.into()),
    };
    println!("connected as {}", client.client().ready().client_id);

    let mut messages = client.on_message();
    client.join(&RoomInput { room: room.clone() }).await?;
    let ack = client.send(&SendInput { room, text }).await?;
    println!("sent message {}", ack.id);

    let event = tokio::time::timeout(Duration::from_secs(5), messages.next())
        .await?
        .ok_or("the connection closed before the message came back")??;
    println!(
        "[{}] {}: {} (id {})",
        event.room, event.from, event.text, event.id
    );
    client.close().await;
    Ok(())
}
