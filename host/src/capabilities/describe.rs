//! `describe`: the filtered view of the org's schema.

use super::{answer, convert, limited};
use crate::bindings::{describe, types};
use crate::runtime::Sandbox;

impl describe::Host for Sandbox {
    async fn sobject(&mut self, name: String) -> wasmtime::Result<Result<describe::SobjectInfo, types::Error>> {
        let r = self.session.describe(&*self.crm, &name).await;
        answer(r, |view| convert::sobject_info_to_wit(view.info()))
    }

    async fn granted_sobjects(&mut self) -> wasmtime::Result<Vec<String>> {
        limited(self.session.granted_sobjects())
    }
}
