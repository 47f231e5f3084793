//! The one `bindgen!` of the host: Rust types and traits for the `portico:mapper` world.
//!
//! Every import is async (describe and find may reach Salesforce) and trappable (a call past a
//! limit stops the guest); `map` is called asynchronously so epoch yields and the wall-clock
//! deadline can interrupt it.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "mapper",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use portico::mapper::{config, describe, log, records, types};
