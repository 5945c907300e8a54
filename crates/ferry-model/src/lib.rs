//! Kubernetes objects as ferry sees them, and loading them from manifest files.
//!
//! An [`Object`] is a parsed document tree ([`Node`]) that remembers, for every
//! value, the line it came from, plus the object's identity ([`ObjectId`]) and
//! where it was found ([`Origin`]). The [`load`] module turns files and
//! directories into objects one document at a time so that large inputs are
//! never held in memory twice. Callers that only read objects can take them
//! as [`load::Document`]s instead, whose tree ([`DocNode`] in a [`Doc`])
//! borrows its text from the input and costs a few allocations per document.
//! Objects copied from a cluster unchanged can stay JSON text ([`RawObject`]); objects
//! compared with their copies can be parsed without their managed fields ([`lean`]).
//!
//! This crate does no analysis and never prints: problems with the input are
//! returned as data ([`load::Issue`]) for the caller to report.

pub mod doc;
pub mod id;
pub mod lean;
pub mod load;
pub mod node;
pub mod quantity;
pub mod raw;

pub use doc::{Doc, DocNode};
pub use id::{ObjectId, Origin};
pub use node::{Node, Scalar, Value};
pub use raw::{Manifest, RawObject};

/// One Kubernetes object read from the input.
#[derive(Debug, Clone)]
pub struct Object {
    /// API version, kind, namespace and name.
    pub id: ObjectId,
    /// File, document and line where the object starts.
    pub origin: Origin,
    /// The whole object, with a line number on every value.
    pub root: Node,
}
