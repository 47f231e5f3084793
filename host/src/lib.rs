//! Portico's host: runs tenants' mapping plugins in a WebAssembly sandbox.
//!
//! - [`runtime`] loads plugin components (validated, compiled once, cached on disk, pre-linked)
//!   and invokes `map` on a booking in a fresh, limited sandbox.
//! - `capabilities` implements the `portico:mapper` imports over the invocation's
//!   [`portico_model::Session`], where the grant and validation policy lives.
//! - [`inspect`] reads a component without running it: manifest, imports, permissions.
//! - [`pack`] embeds a manifest in a component any toolchain built; [`samples`] runs a plugin's
//!   sample bookings in the sandbox and compares them with their expected requests.
//! - [`salesforce`] is the Salesforce client (the only code that talks to Salesforce).
//! - [`cli`] is the `portico` command.
//!
//! The runtime reaches an org only through [`portico_model::Crm`], so it never knows about HTTP.

mod bindings;
mod capabilities;
pub mod cli;
pub mod inspect;
pub mod pack;
pub mod runtime;
pub mod salesforce;
pub mod samples;
pub mod service;
pub mod store;

pub use runtime::{Call, InvokeError, LoadError, Outcome, Plugin, Runtime, RuntimeConfig, Usage};
