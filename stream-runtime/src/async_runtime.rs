//! The tokio runtime that query tasks and sources' background tasks run on: the program's own
//! when it has one, else one Sluice keeps for programs without one (a query started from plain
//! `fn main`).

use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

/// The current runtime, or Sluice's own.
pub(crate) fn handle() -> Handle {
    match Handle::try_current() {
        Ok(h) => h,
        Err(_) => background().handle().clone(),
    }
}

fn background() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .enable_all()
            .thread_name("sluice-query")
            .build()
            .expect("build the background runtime")
    })
}
