//! The Rust guest SDK for Portico mapping plugins.
//!
//! A plugin implements [`Mapper`]: it receives a [`Booking`] and a [`Host`], looks at the org
//! through `host.describe`, finds existing records with `host.find`, and stages records with
//! `host.create` / `host.upsert`. [`export_mapper!`] turns the type into a WebAssembly component
//! of the `portico:mapper` world and embeds the plugin's manifest in it. With the `testing`
//! feature, [`testing::FakeHost`] runs the same mapping natively, against recorded describe
//! files, with the host's own validation. See `guest-sdk/README.md` for the author's guide.

#[doc(hidden)]
pub mod bindings;
mod host;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod wasm;

pub use host::{Host, Level};
pub use portico_model::booking::{Answer, Booking, BookingKind, Person};
pub use portico_model::describe::{FieldType, PicklistValue};
pub use portico_model::{
    Date, DateTime, ErrorKind, FieldInfo, FieldValue, Found, HostError, MappingError, NewRecord, RecordRef,
    SObjectInfo, Value,
};

/// The result of [`Mapper::map`]; host errors convert with `?`.
pub type Result<T, E = MappingError> = std::result::Result<T, E>;

/// Everything a plugin usually needs: `use portico_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Booking, BookingKind, Date, DateTime, ErrorKind, Host, HostError, Level, Mapper, MappingError, NewRecord,
        Person, RecordRef, Result, Value,
    };
}

/// A mapping plugin.
pub trait Mapper {
    /// The plugin's manifest (TOML): objects, operations, fields and config keys it needs.
    /// Usually `include_str!("../portico.toml")`. It is embedded in the component.
    const MANIFEST: &'static str;

    /// Maps one booking: stage records through `host`. Return `Ok(())` to commit everything
    /// staged in one atomic request, or an error to commit nothing.
    fn map(booking: &Booking, host: &mut dyn Host) -> Result<()>;
}

#[doc(hidden)]
pub const fn __manifest_bytes<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// Exports a [`Mapper`] as the component's `map` function and embeds its manifest.
///
/// ```ignore
/// struct MyPlugin;
/// impl portico_sdk::Mapper for MyPlugin { /* … */ }
/// portico_sdk::export_mapper!(MyPlugin);
/// ```
#[macro_export]
macro_rules! export_mapper {
    ($ty:ty) => {
        #[used]
        #[unsafe(link_section = "portico-manifest")]
        static __PORTICO_MANIFEST: [u8; <$ty as $crate::Mapper>::MANIFEST.len()] =
            $crate::__manifest_bytes::<{ <$ty as $crate::Mapper>::MANIFEST.len() }>(<$ty as $crate::Mapper>::MANIFEST);

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __PorticoExport;
            impl $crate::bindings::Guest for __PorticoExport {
                fn map(
                    booking: $crate::bindings::portico::mapper::types::Booking,
                ) -> ::core::result::Result<(), $crate::bindings::portico::mapper::types::MappingError> {
                    $crate::wasm::run::<$ty>(booking)
                }
            }
    $crate::bindings::__export_mapper_world!(__PorticoExport with_types_in $crate::bindings);
        };
    };
}

/// `text` cut to at most `max_chars` characters (Salesforce counts characters, not bytes), with
/// an ellipsis when it was cut.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Splits a display name into (first name, last name) the way Salesforce Leads and Contacts
/// want them: the last word is the last name; a one-word name is all last name.
pub fn split_name(name: &str) -> (Option<String>, String) {
    let name = name.trim();
    match name.rsplit_once(char::is_whitespace) {
        Some((first, last)) => (Some(first.trim().to_owned()), last.to_owned()),
        None => (None, name.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_by_characters() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo world", 5), "héll…");
    }

    #[test]
    fn splits_names() {
        assert_eq!(split_name("Ada King Lovelace"), (Some("Ada King".into()), "Lovelace".into()));
        assert_eq!(split_name(" Cher "), (None, "Cher".into()));
    }
}
