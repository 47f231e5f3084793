//! Portico's shared model: what the host and the guest SDK's fake host agree on.
//!
//! A booking comes in ([`booking`]); a plugin describes sObjects and stages records under a
//! tenant's [`manifest::Grant`] through a [`session::Session`], which checks every call before
//! any I/O and validates records against the filtered describe ([`view`], [`staging`]); the
//! staged [`staging::Unit`] becomes one Composite API request. The org behind it is reached
//! only through the [`crm::Crm`] trait; [`local::LocalOrg`] answers from recorded describe files.
//!
//! Nothing here knows about WebAssembly or HTTP, so the same checks run natively in a plugin's
//! unit tests and in the sandbox host.

pub mod booking;
pub mod crm;
pub mod describe;
pub mod error;
pub mod limits;
pub mod local;
pub mod manifest;
pub mod permissions;
pub mod platforms;
pub mod samples;
pub mod session;
pub mod soql;
pub mod staging;
pub mod text;
pub mod time;
pub mod value;
pub mod view;

pub use booking::{Booking, BookingKind};
pub use crm::{Crm, CrmError, FindQuery};
pub use error::{ErrorKind, HostError, MappingError};
pub use limits::{Limit, LimitExceeded, Limits};
pub use local::LocalOrg;
pub use manifest::{Grant, Manifest, Operation};
pub use session::{CallError, Session};
pub use time::{Date, DateTime};
pub use value::{FieldValue, Found, NewRecord, RecordRef, Value};
pub use view::{FieldInfo, SObjectInfo};
