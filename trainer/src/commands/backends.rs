use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use crate::backend::BackendKind;
use crate::output::say;

const SIZE: usize = 64;

pub fn run() -> anyhow::Result<()> {
    let mut failed = Vec::new();
    for &backend in BackendKind::COMPILED {
        let started = Instant::now();
        // A GPU backend without a usable device panics inside burn; report it
        // as that backend's failure and go on with the others.
        match catch_unwind(AssertUnwindSafe(|| backend.matmul_error(SIZE))) {
            Ok(0.0) => say!(
                "{:<6} ok      {SIZE}x{SIZE} matmul exact, {:.1} ms",
                backend.name(),
                started.elapsed().as_secs_f64() * 1e3
            ),
            Ok(error) => {
                say!(
                    "{:<6} WRONG   {SIZE}x{SIZE} matmul off by {error}",
                    backend.name()
                );
                failed.push(backend.name());
            }
            Err(_) => {
                say!(
                    "{:<6} FAILED  no usable device (see the message above)",
                    backend.name()
                );
                failed.push(backend.name());
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("backend check failed for: {}", failed.join(", "))
    }
}
