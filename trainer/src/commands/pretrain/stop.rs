//! When training stops before its last epoch: at Ctrl-C, after the step
//! under way and with a checkpoint, or after `--pause-after` epochs of this
//! invocation; and where the tests hold a run still to kill it.

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

/// The environment variable with which the tests hold a run still at one
/// moment, `<moment>:<step>` (`after-step:5`), to kill it exactly there.
const TEST_HALT: &str = "SPOTDIFF_TEST_HALT";

/// The moments a test may hold a run at.
#[derive(Debug, Clone, Copy)]
pub enum Halt {
    /// Step N is logged; nothing of it is checkpointed yet.
    AfterStep,
    /// The checkpoint of step N is written, the one before it moved aside,
    /// and the new one not yet in its place.
    BetweenRenames,
}

impl Halt {
    fn name(self) -> &'static str {
        match self {
            Halt::AfterStep => "after-step",
            Halt::BetweenRenames => "between-renames",
        }
    }
}

/// When [`TEST_HALT`] names this moment and `step`, says so on standard
/// error and waits forever, for the test to kill the process.
pub fn halt_for_tests(moment: Halt, step: u64) {
    let here = format!("{}:{step}", moment.name());
    if std::env::var(TEST_HALT).is_ok_and(|wanted| wanted == here) {
        eprintln!("halted at {here}");
        loop {
            std::thread::park();
        }
    }
}
