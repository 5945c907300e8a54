//! Command implementations. Each takes resolved settings and returns an exit status.

pub mod assess;
