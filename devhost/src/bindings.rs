//! Host bindings for the Spin interfaces, generated at build time from the WIT
//! shipped inside the `spin-sdk` crate (see `build.rs`).
#![allow(clippy::all, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/spin_bindings.rs"));
