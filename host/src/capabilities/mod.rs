//! The host side of each import interface, one module per capability.
//!
//! Each module implements its generated `Host` trait for [`Sandbox`] by converting the WIT
//! types and delegating to the invocation's [`portico_model::Session`], where the policy lives
//! (grant checks before any I/O, the filtered describe, staging validation, limits). A refused
//! call returns the WIT `error` to the guest; a limit hit becomes a trap carrying
//! [`portico_model::LimitExceeded`].

mod config;
mod convert;
mod describe;
mod log;
mod records;

pub(crate) use convert::{booking_to_wit, mapping_error_from_wit};

use crate::bindings::{self, types};
use crate::runtime::Sandbox;
use portico_model::CallError;
use wasmtime::component::{HasSelf, Linker};

/// Adds the `portico:mapper` imports to a linker: one line per interface.
pub(crate) fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    bindings::types::add_to_linker::<Sandbox, HasSelf<Sandbox>>(linker, |s| s)?;
    bindings::describe::add_to_linker::<Sandbox, HasSelf<Sandbox>>(linker, |s| s)?;
    bindings::records::add_to_linker::<Sandbox, HasSelf<Sandbox>>(linker, |s| s)?;
    bindings::config::add_to_linker::<Sandbox, HasSelf<Sandbox>>(linker, |s| s)?;
    bindings::log::add_to_linker::<Sandbox, HasSelf<Sandbox>>(linker, |s| s)?;
    Ok(())
}

impl types::Host for Sandbox {}

/// A session answer as the guest sees it: a WIT result, or a trap for a limit.
fn answer<T, U>(r: Result<T, CallError>, f: impl FnOnce(T) -> U) -> wasmtime::Result<Result<U, types::Error>> {
    match r {
        Ok(v) => Ok(Ok(f(v))),
        Err(CallError::Refused(e)) => Ok(Err(convert::error_to_wit(e))),
        Err(CallError::Limit(limit)) => Err(wasmtime::Error::new(limit)),
    }
}

/// A session answer for calls that cannot be refused, only limited.
fn limited<T>(r: Result<T, CallError>) -> wasmtime::Result<T> {
    match r {
        Ok(v) => Ok(v),
        Err(CallError::Limit(limit)) => Err(wasmtime::Error::new(limit)),
        Err(CallError::Refused(e)) => Err(wasmtime::Error::msg(format!("host call refused unexpectedly: {e}"))),
    }
}
