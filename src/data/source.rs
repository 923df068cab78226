//! Where a data set's files come from. The readers and the checker see files
//! only through [`Source`], so they run unchanged on a directory
//! ([`DirSource`], native only), on files a browser handed over, or on a test's
//! in-memory tree ([`MemorySource`]).
//!
//! Paths are relative to the data set's root, with `/` separators, exactly as
//! VisA's split CSVs write them.

use std::collections::BTreeMap;

use thiserror::Error;

use super::problem::Problem;

/// Why a file or folder cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("`{0}`: no such file or folder")]
    NotFound(String),
    #[error("`{path}`: cannot be read: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("`{path}`: cannot be written: {reason}")]
    Unwritable { path: String, reason: String },
}

/// The entries of one folder, each sorted by name (byte order), so every
/// listing, and so every reader's output, is the same on every machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub files: Vec<String>,
    pub folders: Vec<String>,
}

/// Read access to a data set's files; `Sync`, so that the images of a batch
/// are read and decoded in parallel.
pub trait Source: Sync {
    /// The whole content of a file.
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError>;
    /// The names (not paths) of the files and folders directly in `folder`;
    /// `""` is the root.
    fn list(&self, folder: &str) -> Result<Listing, SourceError>;
}

/// Each folder at the root with its listing: the classes of the layouts
/// that are folders of folders. The root or a folder that cannot be listed
/// is a problem.
pub(crate) fn class_folders(
    source: &(impl Source + ?Sized),
    problems: &mut Vec<Problem>,
) -> Vec<(String, Listing)> {
    let root = match source.list("") {
        Ok(root) => root,
        Err(error) => {
            problems.push(error.into());
            return Vec::new();
        }
    };
    root.folders
        .into_iter()
        .filter_map(|class| match source.list(&class) {
            Ok(listing) => Some((class, listing)),
            Err(error) => {
                problems.push(error.into());
                None
            }
        })
        .collect()
}

/// The files of `folder` that `keep` accepts, in name order; a folder that
/// cannot be listed is a problem.
pub(crate) fn files_where(
    source: &(impl Source + ?Sized),
    folder: &str,
    keep: impl Fn(&str) -> bool,
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    match source.list(folder) {
        Ok(listing) => listing.files.into_iter().filter(|f| keep(f)).collect(),
        Err(error) => {
            problems.push(error.into());
            Vec::new()
        }
    }
}

/// A file name without its last extension.
pub(crate) fn stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}

/// Write access to a data set's files: where the generator puts its output.
pub trait Sink {
    /// Creates or replaces a file, with any folders above it.
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), SourceError>;
}

/// Joins a folder and a name; the root is `""`.
pub fn join(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_string()
    } else {
        format!("{folder}/{name}")
    }
}

/// A tree of files held in memory: files dropped into a browser, or a test's
/// fixture. Folders exist where some file lies below them.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemorySource {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a file.
    pub fn insert(&mut self, path: impl Into<String>, bytes: Vec<u8>) {
        self.files.insert(path.into(), bytes);
    }

    /// Removes a file, returning its bytes.
    pub fn remove(&mut self, path: &str) -> Option<Vec<u8>> {
        self.files.remove(path)
    }

    /// Every file path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}

impl Source for MemorySource {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| SourceError::NotFound(path.to_string()))
    }

    fn list(&self, folder: &str) -> Result<Listing, SourceError> {
        let prefix = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        let mut listing = Listing::default();
        for path in self.files.range(prefix.clone()..) {
            let Some(rest) = path.0.strip_prefix(&prefix) else {
                break;
            };
            match rest.split_once('/') {
                None => listing.files.push(rest.to_string()),
                Some((sub, _)) if listing.folders.last().map(String::as_str) != Some(sub) => {
                    listing.folders.push(sub.to_string())
                }
                Some(_) => {}
            }
        }
        if listing.files.is_empty() && listing.folders.is_empty() && !folder.is_empty() {
            return Err(SourceError::NotFound(folder.to_string()));
        }
        // Paths sort by the whole path, where `a-b/...` comes before `a/...`;
        // folders are listed by name like the files.
        listing.folders.sort();
        listing.folders.dedup();
        Ok(listing)
    }
}

impl Sink for MemorySource {
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), SourceError> {
        self.insert(path, bytes.to_vec());
        Ok(())
    }
}

#[cfg(not(target_family = "wasm"))]
pub use native::DirSource;

#[cfg(not(target_family = "wasm"))]
mod native {
    use std::io::ErrorKind;
    use std::path::PathBuf;

    use super::{Listing, Sink, Source, SourceError};

    /// A data set in a folder of the local file system.
    #[derive(Debug, Clone)]
    pub struct DirSource {
        root: PathBuf,
    }

    impl DirSource {
        pub fn new(root: impl Into<PathBuf>) -> Self {
            DirSource { root: root.into() }
        }

        pub fn root(&self) -> &std::path::Path {
            &self.root
        }

        /// Names files relative to the root, like the CSVs do; the root
        /// itself by its full path.
        fn error(&self, path: &str, error: std::io::Error) -> SourceError {
            let shown = if path.is_empty() {
                self.root.display().to_string()
            } else {
                path.to_string()
            };
            match error.kind() {
                ErrorKind::NotFound => SourceError::NotFound(shown),
                _ => SourceError::Unreadable {
                    path: shown,
                    reason: error.to_string(),
                },
            }
        }
    }

    impl Source for DirSource {
        fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
            std::fs::read(self.root.join(path)).map_err(|e| self.error(path, e))
        }

        fn list(&self, folder: &str) -> Result<Listing, SourceError> {
            let mut listing = Listing::default();
            let entries =
                std::fs::read_dir(self.root.join(folder)).map_err(|e| self.error(folder, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| self.error(folder, e))?;
                // Names that are not UTF-8 cannot appear in a CSV path either.
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                let kind = entry.file_type().map_err(|e| self.error(folder, e))?;
                if kind.is_dir() {
                    listing.folders.push(name);
                } else {
                    listing.files.push(name);
                }
            }
            listing.files.sort();
            listing.folders.sort();
            Ok(listing)
        }
    }

    impl Sink for DirSource {
        fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), SourceError> {
            let full = self.root.join(path);
            let unwritable = |error: std::io::Error| SourceError::Unwritable {
                path: full.display().to_string(),
                reason: error.to_string(),
            };
            if let Some(folder) = full.parent() {
                std::fs::create_dir_all(folder).map_err(unwritable)?;
            }
            std::fs::write(&full, bytes).map_err(unwritable)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_listing_separates_files_and_folders() {
        let mut source = MemorySource::new();
        for path in [
            "a/x/1.png",
            "a/x/2.png",
            "a/y/3.png",
            "a/z.txt",
            "a-b/4.png",
        ] {
            source.insert(path, vec![]);
        }
        let root = source.list("").unwrap();
        assert_eq!(root.folders, ["a", "a-b"]);
        assert!(root.files.is_empty());
        let a = source.list("a").unwrap();
        assert_eq!(a.folders, ["x", "y"]);
        assert_eq!(a.files, ["z.txt"]);
        assert_eq!(source.list("b"), Err(SourceError::NotFound("b".into())));
        assert_eq!(source.read("a/q"), Err(SourceError::NotFound("a/q".into())));
    }
}
