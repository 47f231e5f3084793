//! The mapping editor's operations: what may be mapped (the org's describe, filtered by the
//! integration user's access and the tenant's grant), a preview that runs the active plugin in
//! the real sandbox without committing, saving as a new configuration version, the history,
//! and restoring an earlier version.

use super::mapping_spec::{EditableObject, Mapping, Problem, check};
use super::tenants::open;
use super::{OpResult, Ops, Permission, Principal};
use crate::runtime::Call;
use crate::service::ApiError;
use crate::store::ConfigVersion;
use portico_model::describe::FieldType;
use portico_model::manifest::ObjectGrant;
use portico_model::session::LogLine;
use portico_model::{Booking, Grant, Manifest, Operation};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The setting a configurable plugin reads its mapping from.
pub const MAPPING_KEY: &str = "mapping";

/// A booking to preview with when the tenant has none yet.
pub const SAMPLE_BOOKING: &str =
    include_str!("../../../../plugins/configurable/samples/existing-lead-with-answers.booking.json");

/// What the editor needs.
#[derive(Debug)]
pub struct Editor {
    /// The saved mapping (empty when none is).
    pub mapping: Mapping,
    /// What may be mapped.
    pub objects: Vec<EditableObject>,
    /// The active plugin version.
    pub digest: String,
    /// Its approved grant.
    pub approved: Grant,
    /// The plugin's objects come from the mapping: a grant beyond the manifest may be approved.
    pub open_ended: bool,
}

/// Loads what the editor offers. Refuses when the active plugin does not read a mapping, is
/// not approved, or there is no Salesforce connection to describe.
pub async fn editor(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Editor> {
    let t = open(ops, who, tenant, Permission::PluginsView, "view-mapping").await?;
    build_editor(ops, &t).await
}

async fn build_editor(ops: &Ops, t: &crate::store::Tenant) -> OpResult<Editor> {
    let inner = &ops.inner;
    let tenant = t.id.as_str();
    let digest = t.active_digest.clone().ok_or_else(|| {
        ApiError::conflict("no-active-plugin", "activate a plugin that reads a mapping (such as `configurable`) first")
    })?;
    let version = inner
        .store
        .plugin_version(tenant, &digest)
        .await?
        .ok_or_else(|| ApiError::internal("active version missing"))?;
    let manifest = Manifest::from_toml(&version.manifest).map_err(ApiError::internal)?;
    if !manifest.config.contains_key(MAPPING_KEY) {
        return Err(ApiError::conflict(
            "not-configurable",
            format!(
                "the active plugin `{}` has its mapping in code; activate one that reads a `mapping` setting",
                version.name
            ),
        ));
    }
    let approved: Grant = match version.approved_grant.as_deref() {
        Some(g) => serde_json::from_str(g).map_err(ApiError::internal)?,
        None => return Err(ApiError::conflict("not-approved", "approve the active plugin version first")),
    };
    let row = inner.store.connection(tenant).await?.ok_or_else(|| {
        ApiError::conflict("no-connection", "connect Salesforce first: the editor lists the org's fields")
    })?;
    let org = inner
        .orgs
        .get(&inner.keys, tenant, Some(&row))
        .map_err(|e| ApiError::unprocessable("bad-connection", e.to_string()))?;
    // A plugin whose objects come from its configuration may be granted any object and field:
    // the editor offers what the org lets the integration user create (the manifest's objects,
    // the approved ones and the org's custom objects), and marks what the grant lacks.
    let open_ended = manifest.grant_may_exceed_request();
    let mut names: std::collections::BTreeSet<String> = approved.objects.keys().cloned().collect();
    if open_ended {
        names.extend(manifest.objects.objects.keys().cloned());
        let all = org.object_names().await.map_err(|e| {
            ApiError::new(axum::http::StatusCode::BAD_GATEWAY, "salesforce", format!("listing the org's objects: {e}"))
        })?;
        names.extend(all.iter().filter(|n| n.ends_with("__c")).cloned());
    }
    let none = ObjectGrant::default();
    let mut objects = Vec::new();
    for name in names {
        let g = approved.object(&name).map(|(_, g)| g).unwrap_or(&none);
        let ops = &g.operations;
        // Records the mapping may write; an object the plugin may only find is not offered.
        let writes = ops.contains(&Operation::Create) || ops.contains(&Operation::Upsert);
        if !open_ended && (!ops.contains(&Operation::Describe) || !writes) {
            continue;
        }
        let d = match org.client.describe_object(&name).await {
            Ok(d) => d,
            // Not visible to the integration user (or gone): nothing to offer.
            Err(crate::salesforce::SalesforceError::Api { status: 404, .. }) if open_ended => continue,
            Err(e) => return Err(salesforce_error(&format!("describing {name}"), e)),
        };
        if open_ended && !d.createable {
            continue;
        }
        let allowed = |f: &str| open_ended || g.can_write(f);
        let writable = |f: &&Arc<portico_model::describe::FieldDescribe>| f.createable && allowed(&f.name);
        let mut fields: Vec<_> = d.fields.iter().filter(writable).map(|f| (**f).clone()).collect();
        fields.sort_by(|a, b| a.label.cmp(&b.label));
        objects.push(EditableObject {
            name: name.clone(),
            label: d.label.clone(),
            find_fields: d
                .fields
                .iter()
                .filter(|f| f.filterable && (open_ended || g.can_read(&f.name)))
                .map(|f| f.name.clone())
                .collect(),
            upsert_fields: fields
                .iter()
                .filter(|f| f.external_id || f.id_lookup && f.field_type != FieldType::Id)
                .map(|f| f.name.clone())
                .collect(),
            required_out_of_reach: d
                .fields
                .iter()
                .filter(|f| f.required_on_create() && !allowed(&f.name) && f.field_type != FieldType::Boolean)
                .map(|f| f.name.clone())
                .collect(),
            fields,
            can_create: (open_ended || ops.contains(&Operation::Create)) && d.createable,
            can_upsert: (open_ended || ops.contains(&Operation::Upsert)) && d.createable,
            can_find: open_ended || ops.contains(&Operation::Find),
        });
    }
    let config: BTreeMap<String, String> = serde_json::from_str(&t.config).map_err(ApiError::internal)?;
    let mapping = match config.get(MAPPING_KEY) {
        Some(text) => Mapping::from_json(text).unwrap_or_default(),
        None => Mapping::default(),
    };
    Ok(Editor { mapping, objects, digest, approved, open_ended })
}

/// The booking a preview runs on.
#[derive(Clone, Copy, Debug)]
pub enum PreviewBooking {
    /// [`SAMPLE_BOOKING`].
    Sample,
    /// The booking of one of the tenant's jobs.
    Job(i64),
}

/// What a preview produced.
#[derive(Debug)]
pub struct Preview {
    /// The Composite request that would be sent, or why there is none.
    pub result: Result<serde_json::Value, String>,
    /// The records staged (sObject, mode, fields).
    pub records: Vec<serde_json::Value>,
    /// The plugin's log lines.
    pub logs: Vec<LogLine>,
    /// Salesforce round trips it spent (finds, describes not cached).
    pub salesforce_calls: u32,
    /// The booking it ran on.
    pub booking: String,
}

/// Runs the active plugin with `mapping` in place of the saved one, in the real sandbox,
/// against the org (describes and finds), and commits nothing.
pub async fn preview(
    ops: &Ops,
    who: &Principal,
    tenant: &str,
    mapping: &Mapping,
    on: PreviewBooking,
) -> OpResult<Preview> {
    let t = open(ops, who, tenant, Permission::MappingsEdit, "preview-mapping").await?;
    if t.suspended_at.is_some() {
        // A preview runs the plugin against the org: it spends what a suspension stops.
        return Err(ApiError::conflict(
            "tenant-suspended",
            "the platform has suspended this tenant: nothing runs until it is resumed",
        ));
    }
    let inner = &ops.inner;
    let ctx = inner
        .contexts
        .get(&inner.store, &inner.keys, &inner.runtime.default_limits(), tenant)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("no tenant `{tenant}`")))?;
    let active =
        ctx.active.as_ref().ok_or_else(|| ApiError::conflict("no-active-plugin", "activate a plugin first"))?;
    let mut grant =
        active.grant.clone().ok_or_else(|| ApiError::conflict("not-approved", "approve the active plugin first"))?;
    // For a plugin whose objects come from its mapping, someone who may approve grants previews
    // with exactly the grant this mapping needs — what approving it would allow. Everyone else
    // previews within the approved grant.
    if who.permissions_in(tenant).has(Permission::PluginsApprove) {
        let version = inner.store.plugin_version(tenant, &active.digest).await?;
        let manifest = version.map(|v| Manifest::from_toml(&v.manifest)).transpose().map_err(ApiError::internal)?;
        if manifest.is_some_and(|m| m.grant_may_exceed_request()) {
            grant = Arc::new(mapping.needed_grant());
        }
    }
    let plugin = crate::service::context::load_plugin(ops, tenant, &active.digest)
        .await
        .map_err(|e| ApiError::internal(format!("{e:?}")))?;
    let org = inner
        .orgs
        .get(&inner.keys, tenant, ctx.connection.as_ref())
        .map_err(|e| ApiError::conflict("no-connection", e.to_string()))?;
    let text = match on {
        PreviewBooking::Sample => SAMPLE_BOOKING.to_owned(),
        PreviewBooking::Job(id) => {
            // A job's booking is the tenant's data: only for those who may see jobs.
            who.require(tenant, Permission::JobsView)?;
            inner.store.job_for(tenant, id).await?.ok_or_else(|| ApiError::not_found(format!("no job {id}")))?.payload
        }
    };
    let booking = Booking::from_json(&text).map_err(|e| ApiError::unprocessable("bad-booking", e.to_string()))?;
    let mut config = (*ctx.config).clone();
    config.insert(MAPPING_KEY.to_owned(), mapping.to_json());
    let call = Call {
        booking,
        grant,
        config: Arc::new(config),
        limits: inner.runtime.clamp(ctx.limits.clone()),
        crm: org.client.clone(),
    };
    let outcome = inner.runtime.invoke(&plugin, call).await;
    inner.orgs.keep_rotated_token(&inner.store, &inner.keys, tenant, &org).await;
    let (result, records) = match outcome.result {
        Ok(unit) => {
            let records = unit.records.iter().map(|r| serde_json::to_value(r).unwrap_or_default()).collect();
            (Ok(unit.composite_request()), records)
        }
        Err(e) => (Err(e.to_string()), Vec::new()),
    };
    Ok(Preview { result, records, logs: outcome.logs, salesforce_calls: outcome.usage.salesforce_calls, booking: text })
}

/// Saves the mapping as the tenant's next configuration version (other settings kept).
/// Refuses a mapping with problems, naming each.
pub async fn save(ops: &Ops, who: &Principal, tenant: &str, mapping: &Mapping) -> OpResult<i64> {
    let t = open(ops, who, tenant, Permission::MappingsEdit, "save-mapping").await?;
    let editor = build_editor(ops, &t).await?;
    let problems = check(mapping, &editor.objects);
    if !problems.is_empty() {
        return Err(refusal(&problems));
    }
    let mut config: BTreeMap<String, String> = serde_json::from_str(&t.config).map_err(ApiError::internal)?;
    config.insert(MAPPING_KEY.to_owned(), mapping.to_json());
    super::tenants::save_config(ops, who, tenant, &config).await
}

fn refusal(problems: &[Problem]) -> ApiError {
    let list: Vec<String> = problems
        .iter()
        .map(|p| {
            format!(
                "record {}{}: {}",
                p.record + 1,
                p.field.as_deref().map(|f| format!(" {f}")).unwrap_or_default(),
                p.message
            )
        })
        .collect();
    ApiError::unprocessable("bad-mapping", list.join("; "))
}

fn salesforce_error(what: &str, e: crate::salesforce::SalesforceError) -> ApiError {
    ApiError::new(axum::http::StatusCode::BAD_GATEWAY, "salesforce", format!("{what}: {e}"))
}

/// Approves, for the active version, exactly the grant the saved mapping needs (a plugin whose
/// objects come from its configuration). Returns that grant.
pub async fn approve_needed(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Grant> {
    let t = open(ops, who, tenant, Permission::PluginsApprove, "approve-mapping-grant").await?;
    let digest =
        t.active_digest.clone().ok_or_else(|| ApiError::conflict("no-active-plugin", "activate a plugin first"))?;
    let config: BTreeMap<String, String> = serde_json::from_str(&t.config).map_err(ApiError::internal)?;
    let mapping = config
        .get(MAPPING_KEY)
        .map(|m| Mapping::from_json(m))
        .transpose()
        .map_err(|e| ApiError::conflict("bad-mapping", e))?
        .ok_or_else(|| ApiError::conflict("no-mapping", "save a mapping first"))?;
    let needed = mapping.needed_grant();
    super::plugins::approve(ops, who, tenant, &digest, Some(needed.clone())).await?;
    Ok(needed)
}

/// The tenant's saved configurations, newest first (at most 50).
pub async fn versions(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Vec<ConfigVersion>> {
    open(ops, who, tenant, Permission::PluginsView, "config-history").await?;
    Ok(ops.inner.store.config_versions(tenant, 50).await?)
}

/// Saves an earlier version's settings again, as a new version.
pub async fn restore(ops: &Ops, who: &Principal, tenant: &str, version: i64) -> OpResult<i64> {
    open(ops, who, tenant, Permission::MappingsEdit, "restore-config").await?;
    let old = ops
        .inner
        .store
        .config_version(tenant, version)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no configuration version {version}")))?;
    let values = serde_json::from_str(&old.config).map_err(ApiError::internal)?;
    super::tenants::save_config(ops, who, tenant, &values).await
}

/// The tenant's most recent bookings to preview with: (job id, booking id, title).
/// Empty for someone who may not see jobs.
pub async fn recent_bookings(ops: &Ops, who: &Principal, tenant: &str) -> OpResult<Vec<(i64, String, String)>> {
    if !who.permissions_in(tenant).has(Permission::JobsView) {
        return Ok(Vec::new());
    }
    let jobs = super::jobs::list(ops, who, tenant, Default::default(), None, 10).await?;
    Ok(jobs
        .into_iter()
        .filter_map(|j| {
            let title = serde_json::from_str::<serde_json::Value>(&j.payload).ok()?["title"].as_str()?.to_owned();
            Some((j.id, j.booking_id, title))
        })
        .collect())
}
