//! keel-conf: work in progress.
#![warn(clippy::print_stdout, clippy::print_stderr)]
