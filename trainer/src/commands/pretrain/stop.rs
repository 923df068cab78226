//! When training stops before its last epoch: at Ctrl-C, after the step
//! under way and with a checkpoint, or after `--pause-after` epochs of this
//! invocation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The Ctrl-C flag and the epochs this invocation may still run.
pub struct Stop {
    interrupted: Arc<AtomicBool>,
    pause_after: Option<u64>,
    epochs_run: u64,
}

impl Stop {
    /// Catches Ctrl-C from now on.
    pub fn install(pause_after: Option<u64>) -> Self {
        let interrupted = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&interrupted);
        // A second handler cannot be set in the same process; training then
        // simply stops at Ctrl-C without a final checkpoint.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
        Stop {
            interrupted,
            pause_after,
            epochs_run: 0,
        }
    }

    /// Whether Ctrl-C was pressed.
    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Counts a finished epoch; true when this invocation pauses here, before
    /// `next_epoch` of the run's `epochs` (a finished run does not pause).
    pub fn pause_after_epoch(&mut self, next_epoch: u64, epochs: u64) -> bool {
        self.epochs_run += 1;
        self.pause_after == Some(self.epochs_run) && next_epoch < epochs
    }
}
