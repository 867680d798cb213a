//! Output: the findings log, diagnostics, the findings table.

pub mod append;
pub mod findings;
pub mod log;
pub mod posture;
pub mod read;
pub mod table;
