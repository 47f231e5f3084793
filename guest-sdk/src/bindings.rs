//! The generated bindings of the `portico:mapper` world (the one `generate!` of the SDK).

wit_bindgen::generate!({
    path: "../wit",
    world: "mapper",
    pub_export_macro: true,
    export_macro_name: "__export_mapper_world",
    default_bindings_module: "portico_sdk::bindings",
});
