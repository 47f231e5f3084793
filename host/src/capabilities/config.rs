//! `config`: the tenant's settings for the plugin (manifest defaults applied).

use super::limited;
use crate::bindings::config;
use crate::runtime::Sandbox;

impl config::Host for Sandbox {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        limited(self.session.config(&key))
    }
}
