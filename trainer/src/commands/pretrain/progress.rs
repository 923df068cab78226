//! What a run reports while it trains: `log.jsonl`, one line per step (a
//! resumed run first drops the lines after its checkpoint), and the
//! progress bar with the loss and speed, or, when standard error is no
//! terminal (where indicatif draws nothing), a plain line every few steps.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use spotdiff::pretrain::StepLosses;

use super::checkpoint::Position;
use crate::output::{say, write_atomically};

const LOG: &str = "log.jsonl";

/// One line of `log.jsonl`.
#[derive(Debug, Serialize)]
struct LogLine {
    epoch: u64,
    step: u64,
    lr: f64,
    method_loss: f64,
    spd_loss: Option<f64>,
    total: f64,
}

/// The step log and the progress bar of one invocation.
pub struct Progress {
    log: File,
    log_path: PathBuf,
    bar: ProgressBar,
    batch: usize,
    first_step: u64,
    total_steps: u64,
    started: Instant,
    /// Steps between plain lines, when standard error is no terminal.
    lines_every: Option<u64>,
}

impl Progress {
    /// Starts at `first_step` of `total_steps`, keeping only the log's lines
    /// before it; without a terminal, reports every `report_every` steps.
    pub fn start(
        out: &Path,
        first_step: u64,
        total_steps: u64,
        batch: usize,
        report_every: u64,
    ) -> anyhow::Result<Self> {
        let log_path = out.join(LOG);
        let log = open_log(&log_path, first_step)?;
        let bar = ProgressBar::new(total_steps);
        bar.set_style(
            ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} steps, ETA {eta}")
                .expect("the progress template is valid"),
        );
        bar.set_position(first_step);
        Ok(Progress {
            log,
            log_path,
            bar,
            batch,
            first_step,
            total_steps,
            started: Instant::now(),
            lines_every: (!std::io::stderr().is_terminal()).then_some(report_every),
        })
    }

    /// Logs the step at `position` (begun at `started`) and advances the bar.
    pub fn step(
        &mut self,
        position: Position,
        lr: f64,
        losses: &StepLosses,
        started: Instant,
    ) -> anyhow::Result<()> {
        let line = LogLine {
            epoch: position.epoch,
            step: position.step,
            lr,
            method_loss: losses.method,
            spd_loss: losses.spd,
            total: losses.total,
        };
        writeln!(self.log, "{}", serde_json::to_string(&line)?)
            .with_context(|| format!("cannot append to {}", self.log_path.display()))?;
        let rate = self.batch as f64 / started.elapsed().as_secs_f64();
        self.bar.set_message(format!(
            "epoch {} loss {:.4}, {rate:.1} images/s",
            position.epoch + 1,
            losses.total
        ));
        self.bar.inc(1);
        let done = position.step + 1;
        if let Some(every) = self.lines_every {
            if done.is_multiple_of(every) || done == self.total_steps {
                self.print_line(position, done, losses, rate);
            }
        }
        Ok(())
    }

    /// One plain progress line on standard error.
    fn print_line(&self, position: Position, done: u64, losses: &StepLosses, rate: f64) {
        let spd = losses
            .spd
            .map(|spd| format!(" spd {spd:.4}"))
            .unwrap_or_default();
        let per_step = self.started.elapsed().as_secs_f64() / (done - self.first_step) as f64;
        let left = Duration::from_secs_f64(per_step * (self.total_steps - done) as f64);
        eprintln!(
            "epoch {} step {done}/{}: method {:.4}{spd} total {:.4}, {rate:.1} images/s, {} left",
            position.epoch + 1,
            self.total_steps,
            losses.method,
            losses.total,
            indicatif::HumanDuration(left)
        );
    }

    /// Leaves the bar where it stands: training stops before its end.
    pub fn abandon(&self) {
        self.bar.abandon();
    }

    /// Completes the bar and prints the speed of the steps up to `last_step`.
    pub fn finish(self, last_step: u64) {
        self.bar.finish();
        let images = (last_step - self.first_step) as f64 * self.batch as f64;
        let seconds = self.started.elapsed().as_secs_f64();
        say!(
            "{images} images in {seconds:.1} s: {:.1} images/s (loading overlapped)",
            images / seconds
        );
    }
}

/// The step log, keeping only the steps before `step` (a resumed run
/// repeats those after its checkpoint).
fn open_log(path: &Path, step: u64) -> anyhow::Result<File> {
    let kept: String = match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .take(step as usize)
            .map(|line| format!("{line}\n"))
            .collect(),
        Err(_) => String::new(),
    };
    write_atomically(path, kept.as_bytes())?;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}
