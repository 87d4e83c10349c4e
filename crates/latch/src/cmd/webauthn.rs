//! `latch webauthn inspect|verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use latch_webauthn::conformance::Case;
use latch_webauthn::inspect;
use latch_webauthn::mds::Metadata;
use serde_json::Value;

#[derive(Subcommand)]
pub enum WebauthnCommand {
    /// Decode a registration or authentication response (JSON) and show every field.
    Inspect {
        /// A RegistrationResponseJSON or AuthenticationResponseJSON file (or a conformance case).
        file: PathBuf,
        /// Print machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
        /// A decoded MDS3 payload (metadata.json) to name authenticators by AAGUID.
        #[arg(long)]
        mds: Option<PathBuf>,
    },
    /// Verify one conformance case at its verifyAt time; print the verdict as one JSON line.
    Verify {
        /// A case file in the shared conformance schema.
        case: PathBuf,
    },
}

pub fn run(command: WebauthnCommand) -> ExitCode {
    match command {
        WebauthnCommand::Inspect { file, json, mds } => inspect_file(&file, json, mds.as_deref()),
        WebauthnCommand::Verify { case } => verify_case(&case),
    }
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, ExitCode> {
    std::fs::read(path).map_err(|e| {
        eprintln!("latch: cannot read {}: {e}", path.display());
        ExitCode::from(2)
    })
}

fn inspect_file(file: &std::path::Path, json: bool, mds: Option<&std::path::Path>) -> ExitCode {
    let bytes = match read(file) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let metadata = match mds.map(read) {
        Some(Ok(m)) => match Metadata::from_payload_json(&m) {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!(
                    "latch: {}: {e}",
                    mds.map(|p| p.display().to_string()).unwrap_or_default()
                );
                return ExitCode::from(2);
            }
        },
        Some(Err(code)) => return code,
        None => None,
    };
    match inspect::describe_json(&bytes, metadata.as_ref()) {
        Ok(v) if json => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Ok(v) => {
            let mut out = String::new();
            render(&v, 0, &mut out);
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("latch: {}: {e}", file.display());
            ExitCode::from(2)
        }
    }
}

/// Renders JSON as an indented outline, the way a person reads a decoded response.
fn render(v: &Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                match val {
                    Value::Null => {}
                    Value::Object(m) if m.is_empty() => out.push_str(&format!("{pad}{k}: {{}}\n")),
                    Value::Array(a) if a.is_empty() => out.push_str(&format!("{pad}{k}: []\n")),
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        render(val, depth + 1, out);
                    }
                    scalar => out.push_str(&format!("{pad}{k}: {}\n", scalar_text(scalar))),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}[{i}]\n"));
                        render(item, depth + 1, out);
                    }
                    scalar => out.push_str(&format!("{pad}- {}\n", scalar_text(scalar))),
                }
            }
        }
        scalar => out.push_str(&format!("{pad}{}\n", scalar_text(scalar))),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn verify_case(path: &std::path::Path) -> ExitCode {
    let bytes = match read(path) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let verdict = Case::from_json(&bytes).and_then(|case| case.verify());
    match verdict {
        Ok(v) => {
            if let Some(message) = &v.message {
                eprintln!("rejected: {message}");
            }
            match serde_json::to_string(&v) {
                Ok(line) => {
                    println!("{line}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("latch: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Err(e) => {
            eprintln!("latch: {}: {e}", path.display());
            ExitCode::from(2)
        }
    }
}
