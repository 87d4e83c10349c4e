//! `latch serve` as a process: configured from `LATCH_*` variables, answering over TCP, and
//! stopping cleanly on SIGTERM.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

/// One HTTP/1.1 request; returns the whole response as text.
fn http(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

#[cfg(unix)]
#[test]
fn serves_from_environment_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("latch-serve-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("latch.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_latch"))
        .arg("serve")
        .env("LATCH_LISTEN", "127.0.0.1:0")
        .env("LATCH_DB", format!("sqlite://{}", db.display()))
        .env("LATCH_RP_ID", "example.com")
        .env(
            "LATCH_ORIGIN",
            "https://example.com,https://login.example.com",
        )
        .env("LATCH_RP_NAME", "Example")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    // "latch serve: listening on http://127.0.0.1:PORT (RP ID …, origins …)"
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    assert!(
        line.contains("origins https://example.com, https://login.example.com"),
        "{line}"
    );

    let health = http(
        &addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    let body = r#"{"username":"ada"}"#;
    let begin = http(
        &addr,
        &format!(
            "POST /api/v1/signup/begin HTTP/1.1\r\nHost: x\r\nOrigin: https://login.example.com\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(begin.starts_with("HTTP/1.1 200"), "{begin}");
    assert!(
        begin.contains(r#""rp":{"id":"example.com","name":"Example"}"#),
        "{begin}"
    );
    assert!(begin.contains("HttpOnly; SameSite=Lax; Secure"), "{begin}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(exit.success(), "exit {exit:?}: {rest}");
    assert!(rest.contains("latch serve: stopped"), "{rest}");
    assert!(db.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_an_origin_outside_the_rp_id() {
    let out = Command::new(env!("CARGO_BIN_EXE_latch"))
        .args([
            "serve",
            "--db",
            "sqlite::memory:",
            "--rp-id",
            "example.com",
            "--origin",
            "https://example.org",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "latch serve: origin \"https://example.org\" is not on the RP ID \"example.com\" or one of its subdomains, so browsers would refuse its ceremonies"
    );
}

#[test]
fn refuses_a_bad_policy_file_at_start() {
    let dir = std::env::temp_dir().join(format!("latch_serve_policy_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("policy.toml");
    std::fs::write(&file, "maxCredentials = 0\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_latch"))
        .args(["serve", "--db", "sqlite::memory:", "--policy"])
        .arg(&file)
        .env_remove("LATCH_MDS")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "latch serve: policy file {} is not valid: maxCredentials must be between 1 and 100, not 0",
            file.display()
        )
    );
}

/// `--metrics-listen`: the metrics on their own address, not on the public one.
#[test]
fn metrics_are_served_on_their_own_listener() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_latch"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            "sqlite::memory:",
        ])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .env_remove("LATCH_METRICS_TOKEN")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut address_after = |marker: &str| loop {
        let mut line = String::new();
        assert_ne!(stderr.read_line(&mut line).unwrap(), 0, "no {marker:?}");
        if let Some(rest) = line.split(marker).nth(1) {
            let end = rest.find(['/', ' ', '\n']).unwrap_or(rest.len());
            return rest[..end].to_owned();
        }
    };
    let metrics = address_after("metrics on http://");
    let public = address_after("listening on http://");
    let get = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let private = http(&metrics, get);
    assert!(private.starts_with("HTTP/1.1 200"), "{private}");
    assert!(
        private.contains("# TYPE latch_http_requests_total counter"),
        "{private}"
    );
    let outside = http(&public, get);
    assert!(outside.starts_with("HTTP/1.1 403"), "{outside}");
    assert!(outside.contains("metrics_private"), "{outside}");
    child.kill().unwrap();
    child.wait().unwrap();
}
