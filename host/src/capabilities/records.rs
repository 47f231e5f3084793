//! `records`: staging creates and upserts, and finding existing records.

use super::{answer, convert};
use crate::bindings::{records, types};
use crate::runtime::Sandbox;

impl records::Host for Sandbox {
    async fn create(&mut self, record: types::NewRecord) -> wasmtime::Result<Result<types::RecordRef, types::Error>> {
        let r = self.session.create(&*self.crm, convert::record_from_wit(record)).await;
        answer(r, convert::ref_to_wit)
    }

    async fn upsert(
        &mut self,
        record: types::NewRecord,
        key_field: String,
        key: String,
    ) -> wasmtime::Result<Result<types::RecordRef, types::Error>> {
        let r = self.session.upsert(&*self.crm, convert::record_from_wit(record), key_field, key).await;
        answer(r, convert::ref_to_wit)
    }

    async fn find(
        &mut self,
        sobject: String,
        field: String,
        value: types::Value,
        fields: Vec<String>,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<types::Found>, types::Error>> {
        let value = convert::value_from_wit(value);
        let r = self.session.find(&*self.crm, &sobject, &field, value, fields, limit).await;
        answer(r, |found| found.into_iter().map(convert::found_to_wit).collect())
    }
}
