//! `zocket-schema diff OLD.json NEW.json`: lists the changes between two
//! zocket API schemas, breaking ones first, and exits with 1 when one of
//! them breaks existing clients (0 when none does, 2 when it cannot run).

use std::fmt;
use std::io::{Read, Write};
use std::process::ExitCode;

use serde_json::Value;

const USAGE: &str = "\
Compares two zocket API schemas and says which changes break existing clients.

Usage: zocket-schema diff [--json] OLD.json NEW.json

  OLD.json   the schema clients were built against (`-` for standard input)
  NEW.json   the schema to release, as `cargo run -p chat -- --schema` prints it

Options:
  --json     print the report as JSON
  -h, --help print this help

Exit status: 0 no breaking change, 1 breaking changes, 2 usage, I/O or JSON error.
";

/// Why the command could not run: printed on one line, exit status 2.
enum Failure {
    /// The arguments do not make a command.
    Usage(String),
    /// A file could not be read.
    Read { file: String, error: std::io::Error },
    /// A file is not JSON.
    Json {
        file: String,
        error: serde_json::Error,
    },
    /// A file is JSON, but not an API schema.
    NotSchema { file: String },
    /// The report could not be written.
    Write(std::io::Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(message) => write!(f, "{message} (see `zocket-schema --help`)"),
            Self::Read { file, error } => write!(f, "cannot read {file}: {error}"),
            Self::Json { file, error } => write!(f, "{file} is not valid JSON: {error}"),
            Self::NotSchema { file } => {
                write!(
                    f,
                    "{file} is not a zocket API schema (it has no `routes` object)"
                )
            }
            Self::Write(error) => write!(f, "cannot write the report: {error}"),
        }
    }
}

/// What the arguments ask for.
enum Command {
    Help,
    Diff {
        old: String,
        new: String,
        json: bool,
    },
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("zocket-schema: {failure}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, Failure> {
    let mut stdout = std::io::stdout().lock();
    let (old, new, json) = match parse(args)? {
        Command::Help => {
            stdout.write_all(USAGE.as_bytes()).map_err(Failure::Write)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Diff { old, new, json } => (old, new, json),
    };
    let (old, new) = (load(&old)?, load(&new)?);
    let report = zocket_schema::diff(&old, &new);
    let text = if json {
        format!("{:#}\n", report.to_json())
    } else {
        report.to_string()
    };
    stdout.write_all(text.as_bytes()).map_err(Failure::Write)?;
    Ok(if report.is_breaking() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn parse(args: &[String]) -> Result<Command, Failure> {
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        return Ok(Command::Help);
    }
    let mut json = false;
    let mut files = Vec::new();
    let mut args = args.iter();
    match args.next().map(String::as_str) {
        Some("diff") => {}
        Some(other) => {
            return Err(Failure::Usage(format!(
                "unknown command `{other}`, expected `diff`"
            )));
        }
        None => return Err(Failure::Usage("missing command `diff`".into())),
    }
    for arg in args {
        match arg.as_str() {
            "--json" => json = true,
            option if option.starts_with('-') && option != "-" => {
                return Err(Failure::Usage(format!("unknown option `{option}`")));
            }
            file => files.push(file.to_owned()),
        }
    }
    if files.iter().filter(|file| *file == "-").count() > 1 {
        return Err(Failure::Usage(
            "only one file can be `-` (standard input)".into(),
        ));
    }
    match <[String; 2]>::try_from(files) {
        Ok([old, new]) => Ok(Command::Diff { old, new, json }),
        Err(files) => Err(Failure::Usage(format!(
            "`diff` takes two files, OLD.json and NEW.json, not {}",
            files.len()
        ))),
    }
}

/// Reads and parses one schema; `-` is standard input.
fn load(file: &str) -> Result<Value, Failure> {
    let name = if file == "-" { "standard input" } else { file };
    let read_error = |error| Failure::Read {
        file: name.into(),
        error,
    };
    let text = if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(read_error)?;
        text
    } else {
        std::fs::read_to_string(file).map_err(read_error)?
    };
    let value: Value = serde_json::from_str(&text).map_err(|error| Failure::Json {
        file: name.into(),
        error,
    })?;
    if !value.get("routes").is_some_and(Value::is_object) {
        return Err(Failure::NotSchema { file: name.into() });
    }
    Ok(value)
}
