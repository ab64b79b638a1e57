//! Running an example binary the way a user would: `tests/examples_smoke.rs` and
//! `tests/kafka_examples.rs`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long one example may take, at most.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

/// Where `cargo test` put the example binaries.
pub(crate) fn examples_dir() -> PathBuf {
    // target/<profile>/deps/examples_smoke-<hash> → target/<profile>/examples
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join("examples")
}

/// Runs one example; returns its stdout and how long it took, or what went wrong (a failed
/// exit, or output on stderr).
pub(crate) fn run(name: &str, args: &[&str]) -> Result<(String, Duration), String> {
    run_with(name, args, true)
}

/// Runs one example expected to fail; returns `Err("<exit code>\n<stderr>")` once it exits.
pub(crate) fn run_failing(name: &str, args: &[&str]) -> Result<(String, Duration), String> {
    run_with(name, args, false)
}

fn run_with(name: &str, args: &[&str], must_succeed: bool) -> Result<(String, Duration), String> {
    let path = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        return Err(format!(
            "{} is missing: `cargo test` builds the examples (or run `cargo build --examples`)",
            path.display()
        ));
    }
    let started = Instant::now();
    let mut child = Command::new(&path)
        .args(args)
        .env_remove("SLUICE_SECONDS")
        // The live page on a free port; a small backlog.
        .env("SLUICE_UI_ADDRESS", "127.0.0.1:0")
        .env("SLUICE_BACKLOG_FILES", "20")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", path.display()))?;
    // Read the pipes while the example runs, so a full pipe cannot block it.
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).map(|_| text)
        })
    };
    let (stdout, stderr) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("did not finish within {TIMEOUT:?}"));
        }
        thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let stdout = stdout
        .join()
        .expect("stdout reader")
        .map_err(|e| e.to_string())?;
    let stderr = stderr
        .join()
        .expect("stderr reader")
        .map_err(|e| e.to_string())?;
    if !must_succeed {
        return Err(format!("{}\n{stderr}", status.code().unwrap_or(-1)));
    }
    if !status.success() {
        return Err(format!(
            "exited with {status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        ));
    }
    if !stderr.is_empty() {
        return Err(format!("wrote to stderr:\n{stderr}"));
    }
    Ok((stdout, elapsed))
}
