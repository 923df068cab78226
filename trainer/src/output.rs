//! What every command reads and writes: files replaced atomically, JSON
//! files that carry their layout's version, progress bars, and lines on
//! standard output that survive a reader going away.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Writes `contents` to `path` through a temporary file and a rename, so that a
/// file already there is never left half-written.
pub fn write_atomically(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let temporary = path.with_extension("partial");
    std::fs::write(&temporary, contents)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot move {} to {}", temporary.display(), path.display()))
}

/// A JSON file that records the version of its own layout, so that a file
/// written by another spotdiff is refused instead of misread.
pub trait Versioned: DeserializeOwned {
    /// The layout this spotdiff reads and writes.
    const VERSION: u32;
    /// What the file is, for messages: "PaDiM manifest".
    const WHAT: &'static str;

    fn version(&self) -> u32;
}

/// Reads a [`Versioned`] JSON file; `origin` says where such a file comes
/// from, for the message when it cannot be read.
pub fn read_versioned_json<T: Versioned>(path: &Path, origin: &str) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {}: {origin}", path.display()))?;
    let value: T = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a {}", path.display(), T::WHAT))?;
    if value.version() != T::VERSION {
        anyhow::bail!(
            "{} is a {} of version {}, this spotdiff reads version {}",
            path.display(),
            T::WHAT,
            value.version(),
            T::VERSION
        );
    }
    Ok(value)
}

/// The top-level fields, other than those in `ignored`, whose JSON values
/// differ between `old` and `new`: name, old value, new value. How a
/// manifest on disk is compared with the one a command would write.
pub fn differing_fields<T: Serialize>(
    old: &T,
    new: &T,
    ignored: &[&str],
) -> anyhow::Result<Vec<(String, Value, Value)>> {
    let (Value::Object(old), Value::Object(new)) =
        (serde_json::to_value(old)?, serde_json::to_value(new)?)
    else {
        anyhow::bail!("only JSON objects have fields to compare");
    };
    Ok(new
        .into_iter()
        .filter(|(key, value)| !ignored.contains(&key.as_str()) && old.get(key) != Some(value))
        .map(|(key, value)| {
            let before = old.get(&key).cloned().unwrap_or_default();
            (key, before, value)
        })
        .collect())
}

/// [`differing_fields`] down to the values that differ inside objects,
/// named by their dotted path (`settings.model.spd_weight`).
pub fn differing_leaves<T: Serialize>(
    old: &T,
    new: &T,
    ignored: &[&str],
) -> anyhow::Result<Vec<(String, Value, Value)>> {
    let mut leaves = Vec::new();
    for (key, before, after) in differing_fields(old, new, ignored)? {
        if before.is_object() && after.is_object() {
            for (inner, before, after) in differing_leaves(&before, &after, &[])? {
                leaves.push((format!("{key}.{inner}"), before, after));
            }
        } else {
            leaves.push((key, before, after));
        }
    }
    Ok(leaves)
}

/// A progress bar counting images.
pub fn image_bar(length: usize, message: String) -> ProgressBar {
    let bar = ProgressBar::new(length as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:20} {bar:40} {pos}/{len} images, {per_sec}, ETA {eta}")
            .expect("the progress template is valid"),
    );
    bar.set_message(message);
    bar
}

/// Set once standard output has been closed by its reader.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Prints one line on standard output. A reader that stopped reading
/// (`spotdiff eval … | head -1`) ends the printing, not the command: the
/// files a command writes matter more than the lines nobody reads. Any other
/// write error is reported once on standard error.
pub fn print_line(line: fmt::Arguments<'_>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    if let Err(error) = writeln!(std::io::stdout().lock(), "{line}") {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        if error.kind() != ErrorKind::BrokenPipe {
            eprintln!("warning: cannot write to standard output ({error}); the command goes on without it");
        }
    }
}

/// Writes out whatever standard output still holds (nothing once its reader
/// has gone).
pub fn flush_stdout() {
    if !STDOUT_CLOSED.load(Ordering::Relaxed) {
        // A reader that has gone takes nothing more; there is nothing to
        // report about it on the way out.
        let _ = std::io::stdout().flush();
    }
}

/// `println!` through [`print_line`].
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::print_line(format_args!($($arg)*))
    };
}
pub(crate) use say;
