//! The binary as a process: what it sets up for itself before it starts.

use std::process::Stdio;
use std::time::Duration;

use crate::helpers::{Backend, test_config};
use crate::placements::tenantry_command;

/// `serve` runs with two malloc arenas (glibc's default of eight per core let
/// the server's memory grow with its blocking threads), unless the operator
/// set `MALLOC_ARENA_MAX` themselves.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[tokio::test]
async fn the_server_runs_with_two_malloc_arenas_unless_told_otherwise() {
    for (set, expected) in [(None, "2"), (Some("3"), "3")] {
        let dir = tempfile::tempdir().unwrap();
        let (config, _pg) = test_config(Backend::Sqlite, &dir);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = tenantry_command(&config, dir.path());
        command
            .arg("serve")
            .env("PORT", port.to_string())
            .env_remove("MALLOC_ARENA_MAX")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(value) = set {
            command.env("MALLOC_ARENA_MAX", value);
        }
        let mut child = command.spawn().unwrap();
        let wanted = format!("MALLOC_ARENA_MAX={expected}");
        let mut seen = false;
        for _ in 0..100 {
            let environ =
                std::fs::read(format!("/proc/{}/environ", child.id())).unwrap_or_default();
            if environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes()) {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(seen, "the server's environment has {wanted}");
    }
}
