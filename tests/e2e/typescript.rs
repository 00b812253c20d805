//! The generated TypeScript clients: the chat's and a definition with
//! every type form, each pinned by the module committed under
//! `clients/typescript/fixtures/` (which the TypeScript tests type-check
//! and run). `UPDATE_SNAPSHOTS=1` rewrites them after a reviewed change.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zocket::RpcError;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../clients/typescript/fixtures"
);

/// Compares `generated` with the committed fixture `file`.
fn pinned(file: &str, generated: &str) {
    let path = format!("{FIXTURES}/{file}");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, generated).expect("write the fixture");
    }
    let committed = std::fs::read_to_string(&path).expect("the fixture exists");
    assert!(
        committed == generated,
        "{file} is stale: the definition changed. Review the difference, then \
         regenerate it (`cargo run -p chat -- --typescript > clients/typescript/fixtures/chat.ts`, \
         `cargo run -p jobs -- --typescript > clients/typescript/fixtures/jobs.ts`, \
         or UPDATE_SNAPSHOTS=1 cargo test -p zocket-tests --test e2e typescript)"
    );
}

#[test]
fn the_chat_client_module_matches_the_committed_one() {
    let module = chat::Chat::typescript();
    pinned("chat.ts", &module);
    // The hash it checks against `__ready` is the definition's.
    assert!(module.contains(&format!(
        "export const schemaHash = \"{}\";",
        chat::Chat::schema_hash()
    )));
}

#[test]
fn the_jobs_client_module_matches_the_committed_one() {
    // Streams: `zocket.StreamMethod`s, made with `client.method(.., "stream")`.
    let module = jobs::Jobs::typescript();
    pinned("jobs.ts", &module);
    assert!(module.contains(r#"client.method("jobs.run", "stream")"#));
    assert!(
        module.contains(r#"zocket.StreamMethod<JobInput, JobUpdate, zocket.ErrorCode | "BUSY">"#)
    );
}

/// A level, as a string.
#[derive(Serialize, Deserialize, JsonSchema, zocket::HeaderValue)]
#[serde(rename_all = "lowercase")]
enum Level {
    Low,
    High,
}

/// A shape, tagged by `kind`.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum Shape {
    /// A circle.
    Circle {
        /// Its radius.
        radius: f64,
    },
    /// A square.
    Square { side: u32 },
    /// A point.
    Dot,
}

/// A change, tagged by `type`, with its data under `data`.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "data")]
enum Change {
    /// A new name.
    Renamed(String),
    /// A move.
    Moved { dx: i32, dy: i32 },
}

/// A drawing.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Drawing {
    /// Its name.
    #[schemars(length(min = 1, max = 64))]
    name: String,
    shapes: Vec<Shape>,
    /// Counts by tag.
    tags: BTreeMap<String, u32>,
    level: Option<Level>,
    scale: f32,
    #[schemars(range(min = 1, max = 10))]
    layers: u8,
    origin: (i32, i32),
    #[serde(default)]
    hidden: bool,
    #[schemars(regex(pattern = r"^#[0-9a-f]{6}$"))]
    color: Option<String>,
}

/// A layer.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Layer {
    name: String,
}

/// Something on the board, tagged by `kind` (a newtype variant included).
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind")]
enum Item {
    Layer(Layer),
    Note { text: String },
}

/// A name the generated module must not let shadow TypeScript's own.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Record {
    id: u64,
    /// By name.
    index: BTreeMap<String, u64>,
}

/// Where a sticker sits.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(tag = "at", rename_all = "lowercase")]
enum Place {
    Top { x: u32 },
    Bottom { y: u32 },
}

/// A sticker: its own fields and, flattened, its place.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Sticker {
    label: String,
    #[serde(flatten)]
    place: Place,
}

/// A cursor position.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Cursor {
    x: f64,
    y: f64,
}

/// The handshake headers.
#[derive(Serialize, Deserialize, JsonSchema, zocket::Headers)]
#[serde(rename_all = "camelCase")]
struct DrawHeaders {
    /// The access token.
    auth_token: String,
    level: Option<Level>,
    retries: Option<u8>,
}

#[zocket::router(namespace = "admin")]
/// Administration.
trait Admin {
    /// Deletes every drawing.
    async fn wipe() -> Result<u64, RpcError>;
    /// Sent after a wipe, with how many drawings went.
    #[zocket(event)]
    fn wiped(payload: u64);
}

#[zocket::router(headers = DrawHeaders, namespace = "draw")]
/// A drawing board.
trait Draw {
    /// Saves a drawing and returns its id.
    async fn save(input: Drawing) -> Result<u64, RpcError>;
    /// A drawing by id, if there is one.
    async fn load(id: u64) -> Option<Drawing>;
    /// The drawings' names by id.
    async fn list() -> BTreeMap<String, String>;
    /// Adds items; returns the new record.
    async fn add(items: Vec<Item>) -> Record;
    /// Puts a sticker on the board.
    async fn stick(sticker: Sticker);
    /// Where the caller's cursor is (no reply).
    #[zocket(message)]
    async fn cursor(at: Cursor);
    /// A drawing changed.
    #[zocket(event)]
    fn changed(payload: Change);
    /// Where another user's cursor is.
    #[zocket(event, when_full = "latest")]
    fn cursor_moved(payload: Cursor);
    /// The administration routes.
    #[zocket(nest)]
    fn admin() -> Admin;
}

#[test]
fn an_event_declares_what_happens_when_a_recipient_falls_behind() {
    assert_eq!(Draw::CURSOR_MOVED.policy(), zocket::WhenFull::Latest);
    assert_eq!(Draw::CHANGED.policy(), zocket::WhenFull::Close);
    let schema = Draw::schema();
    assert_eq!(schema["events"]["draw.cursorMoved"]["whenFull"], "latest");
    assert!(schema["events"]["draw.changed"].get("whenFull").is_none());
}

#[test]
fn every_type_form_has_its_typescript_form() {
    let module = Draw::typescript();
    pinned("draw.ts", &module);
    let expect = [
        // Named types with their docs; optional fields are optional.
        "/** A drawing. */\nexport interface Drawing {",
        "  /**\n   * Its name.\n   *\n   * 1 to 64 characters.\n   */\n  name: string;",
        "  level?: Level | null;",
        "  hidden?: boolean;",
        "  /** Counts by tag. */\n  tags: { [key: string]: number };",
        "  origin: [number, number];",
        "  shapes: Shape[];",
        "  /** An integer (uint8), 1 to 10. */\n  layers: number;",
        "Matches `^#[0-9a-f]{6}$`.",
        // String enums are unions of literals; tagged enums discriminated unions.
        "export type Level = \"low\" | \"high\";",
        "  /** A circle. */\n  | {\n      kind: \"circle\";",
        "      /** Its radius. */\n      radius: number;",
        "type: \"Moved\";",
        "data: string;",
        // Headers, routes and events by name, messages without a reply.
        "export interface DrawHeaders {",
        "\"draw.cursor\": { kind: \"message\"; input: Cursor; output: void;",
        "\"draw.load\": { kind: \"call\"; input: number; output: Drawing | null;",
        "\"draw.list\": { kind: \"call\"; input: void; output: { [key: string]: string };",
        // A newtype variant keeps its tag; flattened fields keep both sides.
        "Layer & {",
        "export type Sticker = {",
        "export interface Record {",
        "\"draw.add\": { kind: \"call\"; input: Item[];",
        "\"admin.wiped\": number;",
        // The client: namespaces as objects, one member per route and event.
        "    cursor: zocket.MessageMethod<Cursor>;",
        "    onChanged: zocket.Subscribe<Change>;",
        "  admin: {\n    /** Deletes every drawing. */\n    wipe: zocket.CallMethod<void, number, zocket.ErrorCode>;",
        "      wipe: client.method(\"admin.wipe\"),",
        "      cursor: client.method(\"draw.cursor\", \"message\"),",
        "export function createDrawClient(options: zocket.ClientOptions<DrawHeaders>): DrawApi {",
        // An ephemeral event says so.
        "Ephemeral (`when_full = \"latest\"`)",
        "    onCursorMoved: zocket.Subscribe<Cursor>;",
    ];
    for part in expect {
        assert!(module.contains(part), "missing {part:?} in:\n{module}");
    }
}
