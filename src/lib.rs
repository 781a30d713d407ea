//! basehttp (work in progress)
#![warn(missing_docs)]
pub mod proto;
