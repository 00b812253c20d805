//! The API document: protocol version, headers, routes and events, each
//! schema compared in the direction its values travel.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::report::{Kind, Report};
use crate::schema::{ANY, Comparer, Direction, child};

/// Top-level keys compared on their own (or, for `$defs`, through the
/// `$ref`s that use them).
const KNOWN: &[&str] = &[
    "protocolVersion",
    "headers",
    "routes",
    "events",
    "$defs",
    "definitions",
    "$schema",
    "$id",
];

/// Route keys compared on their own.
const ROUTE_KEYS: &[&str] = &["kind", "description", "input", "output", "item", "error"];

/// Event keys compared on their own.
const EVENT_KEYS: &[&str] = &["description", "payload"];

/// Lists every change from the API schema `old` to `new` (documents as
/// `Router::schema()` builds them and `cargo run -p chat -- --schema`
/// prints them), each classified as breaking or compatible for clients
/// built against `old`.
///
/// `$ref`s are followed in each document, so renaming a definition is no
/// change, and a changed definition is reported at every place that uses
/// it. Definitions nothing uses are not compared.
pub fn diff(old: &Value, new: &Value) -> Report {
    let mut comparer = Comparer::new(old, new);
    document(&mut comparer, old, new);
    Report::new(comparer.finish())
}

fn document<'a>(comparer: &mut Comparer<'a>, old: &'a Value, new: &'a Value) {
    match (old.get("protocolVersion"), new.get("protocolVersion")) {
        (a, b) if a == b => {}
        (Some(a), Some(b)) => comparer.push(
            "protocolVersion",
            Kind::Breaking,
            format!("changed from {a} to {b}"),
        ),
        (None, Some(b)) => comparer.push("protocolVersion", Kind::Breaking, format!("{b} added")),
        (Some(a), None) => comparer.push("protocolVersion", Kind::Breaking, format!("{a} removed")),
        (None, None) => {}
    }
    if old.get("headers").is_some() || new.get("headers").is_some() {
        let (old_headers, new_headers) = (
            old.get("headers").unwrap_or(&ANY),
            new.get("headers").unwrap_or(&ANY),
        );
        comparer.schema(old_headers, new_headers, "headers", Direction::Input);
    }
    let (old_routes, new_routes) = (entries(old, "routes"), entries(new, "routes"));
    for (&name, &old_route) in &old_routes {
        let path = child("routes", name);
        match new_routes.get(name) {
            Some(&new_route) => route(comparer, &path, old_route, new_route),
            None => comparer.push(&path, Kind::Breaking, "route removed"),
        }
    }
    for (name, route) in new_routes
        .iter()
        .filter(|(name, _)| !old_routes.contains_key(*name))
    {
        let what = match route.get("kind").and_then(Value::as_str) {
            Some(kind) => format!("route added ({kind})"),
            None => "route added".into(),
        };
        comparer.push(&child("routes", name), Kind::Compatible, what);
    }
    let (old_events, new_events) = (entries(old, "events"), entries(new, "events"));
    for (&name, &old_event) in &old_events {
        let path = child("events", name);
        match new_events.get(name) {
            Some(&new_event) => event(comparer, &path, old_event, new_event),
            None => comparer.push(&path, Kind::Breaking, "event removed"),
        }
    }
    for name in new_events
        .keys()
        .filter(|name| !old_events.contains_key(*name))
    {
        comparer.push(&child("events", name), Kind::Compatible, "event added");
    }
    other_keys(comparer, "", old, new, KNOWN);
}

fn route<'a>(comparer: &mut Comparer<'a>, path: &str, old: &'a Value, new: &'a Value) {
    let (old_kind, new_kind) = (old.get("kind"), new.get("kind"));
    if old_kind != new_kind {
        let name =
            |kind: Option<&Value>| kind.and_then(Value::as_str).unwrap_or("nothing").to_owned();
        let what = format!("kind changed from {} to {}", name(old_kind), name(new_kind));
        comparer.push(path, Kind::Breaking, what);
    }
    description(comparer, path, old, new);
    part(comparer, path, "input", old, new, Direction::Input);
    // A call that became a message (or back) has no reply to compare.
    if old_kind == new_kind {
        part(comparer, path, "output", old, new, Direction::Output);
        // A stream's items go to the client, as a call's output does.
        part(comparer, path, "item", old, new, Direction::Output);
        part(comparer, path, "error", old, new, Direction::Output);
    }
    other_keys(comparer, path, old, new, ROUTE_KEYS);
}

fn event<'a>(comparer: &mut Comparer<'a>, path: &str, old: &'a Value, new: &'a Value) {
    description(comparer, path, old, new);
    part(comparer, path, "payload", old, new, Direction::Output);
    other_keys(comparer, path, old, new, EVENT_KEYS);
}

/// Compares the schema under `key` of a route or event.
fn part<'a>(
    comparer: &mut Comparer<'a>,
    path: &str,
    key: &str,
    old: &'a Value,
    new: &'a Value,
    direction: Direction,
) {
    let path = child(path, key);
    match (old.get(key), new.get(key)) {
        (Some(old), Some(new)) => comparer.schema(old, new, &path, direction),
        (None, Some(_)) => comparer.push(&path, Kind::Breaking, format!("{key} added")),
        (Some(_), None) => comparer.push(&path, Kind::Breaking, format!("{key} removed")),
        (None, None) => {}
    }
}

/// A route's or event's `description`: docs, compatible.
fn description(comparer: &mut Comparer<'_>, path: &str, old: &Value, new: &Value) {
    let verb = match (old.get("description"), new.get("description")) {
        (a, b) if a == b => return,
        (Some(_), Some(_)) => "changed",
        (None, Some(_)) => "added",
        (Some(_), None) => "removed",
        (None, None) => return,
    };
    comparer.push(path, Kind::Compatible, format!("description {verb} (docs)"));
}

/// Keys this tool does not know: a change is breaking, as its meaning is
/// unknown.
fn other_keys(comparer: &mut Comparer<'_>, path: &str, old: &Value, new: &Value, known: &[&str]) {
    let empty = Map::new();
    let (old, new) = (
        old.as_object().unwrap_or(&empty),
        new.as_object().unwrap_or(&empty),
    );
    let keys: BTreeSet<&String> = old
        .keys()
        .chain(new.keys())
        .filter(|key| !known.contains(&key.as_str()))
        .collect();
    for key in keys {
        let verb = match (old.get(key), new.get(key)) {
            (a, b) if a == b => continue,
            (Some(_), Some(_)) => "changed",
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            (None, None) => continue,
        };
        comparer.push(
            &child(path, key),
            Kind::Breaking,
            format!("{verb} (unknown key)"),
        );
    }
}

/// The routes or events of a document by name (sorted, whatever order the
/// JSON map keeps); none if it has none.
fn entries<'a>(document: &'a Value, key: &str) -> BTreeMap<&'a str, &'a Value> {
    document
        .get(key)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.as_str(), value))
        .collect()
}
