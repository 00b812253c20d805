//! Header fields are flat values: a nested struct, a list or an enum with
//! data is an error on the field, at compile time.

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Profile {
    age: u8,
}

#[derive(serde::Deserialize, schemars::JsonSchema, zocket::HeaderValue)]
enum Role {
    Admin,
    Guest(String),
}

#[derive(serde::Deserialize, schemars::JsonSchema, zocket::Headers)]
struct Headers {
    name: String,
    level: Option<u8>,
    profile: Profile,
    tags: Vec<String>,
    #[serde(skip)]
    ignored: Vec<u8>,
}

fn main() {}
