//! Command implementations. Each takes resolved settings and returns an exit status.

pub mod apply;
mod archive;
pub mod assess;
mod cluster;
pub mod export;
pub mod migrate;
mod pipeline;
pub mod transform;
