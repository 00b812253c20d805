//! Compares two zocket API schemas and says which changes break clients
//! built against the old one.
//!
//! The schema is the document `Router::schema()` builds (`cargo run -p chat
//! -- --schema` prints the chat example's): `protocolVersion`, `headers`,
//! `routes`, `events` and the shared `$defs`. Keep the released one in the
//! repository and let CI compare every build against it:
//!
//! ```sh
//! cargo run -p chat -- --schema > new.json && cargo run -p zocket-schema -- diff api.json new.json
//! ```
//!
//! The command prints one line per change, breaking ones first, then a
//! summary, and exits with 0 when nothing breaks, 1 when something does,
//! and 2 when it cannot run (bad arguments, an unreadable file, not JSON):
//!
//! ```text
//! breaking: routes."chat.send".input.text: maxLength lowered from 2000 to 100
//! compatible: routes."chat.send".input.text: description changed (docs)
//! 1 breaking, 1 compatible change
//! ```
//!
//! `--json` prints the same report as JSON (`{"breaking", "compatible",
//! "changes": [{"kind", "path", "what"}]}`); `-` reads a file from standard
//! input.
//!
//! # Rules
//!
//! Who writes a value decides what breaks. Route inputs and headers are
//! written by clients and read by the server: a new schema that accepts
//! *less* rejects what old clients send. Outputs, errors and event payloads
//! are written by the server and read by clients: a new schema that allows
//! *more* sends what old clients cannot read.
//!
//! | Change | In an input | In an output or payload |
//! |---|---|---|
//! | required field added | breaking | compatible (breaking if the old object denied unknown fields) |
//! | optional field added | compatible | compatible (breaking if the old object denied unknown fields) |
//! | required field removed | compatible (breaking if unknown fields are denied) | breaking |
//! | optional field removed | compatible (breaking if unknown fields are denied) | compatible |
//! | field made required / optional | breaking / compatible | compatible / breaking |
//! | `null` allowed / no longer allowed | compatible / breaking | breaking / compatible |
//! | enum value (or unit variant) added / removed | compatible / breaking | breaking / compatible |
//! | variant of a tagged enum added / removed | compatible / breaking | breaking / compatible |
//! | `maxLength`, `maximum`, `maxItems`… lowered or added | breaking | compatible |
//! | `minLength`, `minimum`, `minItems`… raised or added | breaking | compatible |
//! | any bound relaxed or removed | compatible | breaking |
//! | `pattern` or `format` added / removed | breaking / compatible | compatible / breaking |
//! | numeric `format` widened / narrowed (`uint32` → `uint64`) | compatible / breaking | breaking / compatible |
//! | `pattern` changed, `format` changed to an unrelated one | breaking | breaking |
//! | type narrowed (`number` → `integer`) / widened | breaking / compatible | compatible / breaking |
//! | type changed (`string` → `integer`, `null` → `object`, a struct → a tagged enum) | breaking | breaking |
//! | a tuple's length changed | breaking | breaking |
//! | `additionalProperties: false` added / removed | breaking / compatible | compatible / breaking |
//! | `description`, `title`, `examples`, `deprecated`, `default` | compatible | compatible |
//! | a keyword (or route, event or document key) this tool does not know | breaking | breaking |
//!
//! And for the document: a route or event removed, a route's kind changed
//! (call ↔ message) and the `protocolVersion` changed are breaking; a route
//! or event added and a description changed are compatible.
//!
//! `$ref`s are followed on both sides, so a definition renamed with the
//! same shape is no change, and a changed definition is reported at every
//! place that uses it, each with its own direction. A recursive type is
//! compared once, where the recursion starts. The alternatives of a
//! `oneOf`/`anyOf` are matched by their tag (a property's `const`, or the
//! single key of an externally tagged variant), and by order only when
//! they have none.
//!
//! # Paths
//!
//! A change's [`path`](Change::path) starts at the document's root:
//! `headers.name`, `routes."chat.send".input.text`,
//! `events."chat.message".payload.body[type="text"].text`. Names that are
//! not plain identifiers are quoted; `[]` is an array's items, `[0]` a
//! tuple's element, `[type="text"]`, `[Text]` or `[#1]` an alternative,
//! `.additionalProperties` a map's values.
//!
//! # Example
//!
//! ```
//! use serde_json::json;
//!
//! let old = json!({
//!     "protocolVersion": 1,
//!     "routes": {
//!         "ping": { "kind": "call", "input": { "type": "null" }, "output": { "type": "null" } },
//!         "echo": { "kind": "call", "input": { "type": "string" }, "output": { "type": "string" } }
//!     },
//!     "events": {}
//! });
//! let new = json!({
//!     "protocolVersion": 1,
//!     "routes": {
//!         "echo": { "kind": "call", "input": { "type": "string" }, "output": { "type": ["string", "null"] } }
//!     },
//!     "events": { "tick": { "payload": { "type": "integer" } } }
//! });
//!
//! let report = zocket_schema::diff(&old, &new);
//! assert!(report.is_breaking());
//! assert_eq!(
//!     report.to_string(),
//!     "breaking: routes.echo.output: now nullable\n\
//!      breaking: routes.ping: route removed\n\
//!      compatible: events.tick: event added\n\
//!      2 breaking, 1 compatible change\n"
//! );
//! ```

mod api;
mod report;
mod schema;

pub use api::diff;
pub use report::{Change, Kind, Report};
