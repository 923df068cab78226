//! Integration tests of the spotdiff core, built as one binary.

mod suite;
