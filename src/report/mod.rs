//! Human and machine output of findings.

pub mod table;
