//! The describe cache: a describe is used for [`DESCRIBE_TTL`], then revalidated with
//! `If-Modified-Since` (a `304` keeps it); a preflight asks unconditionally.

use super::error::SalesforceError;
use super::transport::{Transport, utf8_segment};
use portico_model::describe::SObjectDescribe;
use reqwest::{Method, StatusCode, header};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct CachedDescribe {
    describe: Arc<SObjectDescribe>,
    last_modified: Option<String>,
    checked: Instant,
}

/// How long a describe is used without asking Salesforce; after that it is revalidated with
/// `If-Modified-Since` (a `304` keeps it).
pub const DESCRIBE_TTL: Duration = Duration::from_secs(15 * 60);

/// The most bytes of a describe answer read (real ones are ~100–500 KB).
const MAX_DESCRIBE_BYTES: u64 = 8 << 20;

/// Describes by sObject (lowercased), each with when it was last checked.
pub(super) struct DescribeCache {
    entries: Mutex<HashMap<String, CachedDescribe>>,
    pub(super) ttl: Duration,
}

impl DescribeCache {
    pub(super) fn new(ttl: Duration) -> DescribeCache {
        DescribeCache { entries: Mutex::new(HashMap::new()), ttl }
    }

    /// The describe of `sobject` if the cache holds it and it is fresh (no round trip needed).
    pub(super) fn fresh(&self, sobject: &str) -> Option<Arc<SObjectDescribe>> {
        let cache = self.entries.lock().expect("describe cache");
        cache.get(&sobject.to_ascii_lowercase()).filter(|c| c.checked.elapsed() < self.ttl).map(|c| c.describe.clone())
    }

    /// Describes an sObject: from the cache while fresh and when Salesforce says it has not
    /// changed, unless `revalidate` asks unconditionally (for a preflight).
    pub(super) async fn get(
        &self,
        transport: &Transport,
        sobject: &str,
        revalidate: bool,
    ) -> Result<Arc<SObjectDescribe>, SalesforceError> {
        let key = sobject.to_ascii_lowercase();
        let cached = {
            let cache = self.entries.lock().expect("describe cache");
            match cache.get(&key) {
                Some(c) if !revalidate && c.checked.elapsed() < self.ttl => return Ok(c.describe.clone()),
                Some(c) => Some((c.describe.clone(), c.last_modified.clone())),
                None => None,
            }
        };
        let mut headers = Vec::new();
        if let Some((_, Some(since))) = cached.as_ref().filter(|_| !revalidate) {
            headers.push((header::IF_MODIFIED_SINCE, since.clone()));
        }
        let path = format!("/sobjects/{}/describe", utf8_segment(sobject));
        let response = transport.send(Method::GET, &path, &[], None, &headers).await?;
        if response.status() == StatusCode::NOT_MODIFIED
            && let Some((describe, last_modified)) = cached
        {
            let entry = CachedDescribe { describe: describe.clone(), last_modified, checked: Instant::now() };
            self.entries.lock().expect("describe cache").insert(key, entry);
            return Ok(describe);
        }
        let last_modified =
            response.headers().get(header::LAST_MODIFIED).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let json = Transport::ok_json(response, MAX_DESCRIBE_BYTES).await?;
        let describe: Arc<SObjectDescribe> = Arc::new(
            serde_json::from_value(json)
                .map_err(|e| SalesforceError::Protocol(format!("describe of {sobject}: {e}")))?,
        );
        self.entries
            .lock()
            .expect("describe cache")
            .insert(key, CachedDescribe { describe: describe.clone(), last_modified, checked: Instant::now() });
        Ok(describe)
    }
}
