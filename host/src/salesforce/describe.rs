//! The describe cache: a describe is used for [`DESCRIBE_TTL`], then revalidated with
//! `If-Modified-Since` (a `304` keeps it); a preflight asks unconditionally.

use super::body::read_bounded;
use super::error::SalesforceError;
use super::transport::{Transport, utf8_segment};
use portico_model::describe::SObjectDescribe;
use reqwest::{Method, StatusCode, header};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct CachedDescribe {
    describe: Arc<SObjectDescribe>,
    last_modified: Option<String>,
    checked: Instant,
    /// What it is counted as against the budget: its size as JSON.
    bytes: usize,
}

/// How long a describe is used without asking Salesforce; after that it is revalidated with
/// `If-Modified-Since` (a `304` keeps it).
pub const DESCRIBE_TTL: Duration = Duration::from_secs(15 * 60);

/// The most bytes of a describe answer read (real ones are ~100–500 KB).
const MAX_DESCRIBE_BYTES: u64 = 8 << 20;

/// The describes of every org a process talks to, least recently used first out once they
/// take more than a budget of bytes (each counted as the size of what is kept, as JSON). Shared
/// by the orgs' clients, so a service with many tenants holds a bounded amount however many
/// connect, and an idle tenant's describes make room for active ones.
#[derive(Debug)]
pub struct DescribeStore {
    inner: Mutex<Entries>,
    max_bytes: usize,
    next_client: AtomicU64,
}

#[derive(Debug)]
struct Entries {
    /// By (client, lowercased sObject).
    lru: lru::LruCache<(u64, String), CachedDescribe>,
    bytes: usize,
    evictions: u64,
}

/// What the describe store holds (for metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DescribeStats {
    /// Describes held.
    pub entries: usize,
    /// Their bytes, as counted.
    pub bytes: usize,
    /// Describes dropped to stay within the budget since the start.
    pub evictions: u64,
}

impl DescribeStore {
    /// A store holding at most `max_bytes` of describes.
    pub fn new(max_bytes: usize) -> Arc<DescribeStore> {
        Arc::new(DescribeStore {
            inner: Mutex::new(Entries { lru: lru::LruCache::unbounded(), bytes: 0, evictions: 0 }),
            max_bytes,
            next_client: AtomicU64::new(0),
        })
    }

    /// What it holds.
    pub fn stats(&self) -> DescribeStats {
        let e = self.inner.lock().expect("describe store");
        DescribeStats { entries: e.lru.len(), bytes: e.bytes, evictions: e.evictions }
    }

    fn insert(&self, key: (u64, String), entry: CachedDescribe) {
        let mut e = self.inner.lock().expect("describe store");
        e.bytes += entry.bytes;
        if let Some(old) = e.lru.put(key, entry) {
            e.bytes -= old.bytes;
        }
        while e.bytes > self.max_bytes && e.lru.len() > 1 {
            let Some((_, out)) = e.lru.pop_lru() else { break };
            e.bytes -= out.bytes;
            e.evictions += 1;
        }
    }
}

/// One client's view of the describe store: its describes by sObject, each with when it was
/// last checked.
pub(super) struct DescribeCache {
    store: Arc<DescribeStore>,
    client: u64,
    pub(super) ttl: Duration,
}

impl DescribeCache {
    pub(super) fn new(store: Arc<DescribeStore>, ttl: Duration) -> DescribeCache {
        let client = store.next_client.fetch_add(1, Ordering::Relaxed);
        DescribeCache { store, client, ttl }
    }

    fn key(&self, sobject: &str) -> (u64, String) {
        (self.client, sobject.to_ascii_lowercase())
    }

    /// The describe of `sobject` if the cache holds it and it is fresh (no round trip needed).
    pub(super) fn fresh(&self, sobject: &str) -> Option<Arc<SObjectDescribe>> {
        let mut e = self.store.inner.lock().expect("describe store");
        e.lru.get(&self.key(sobject)).filter(|c| c.checked.elapsed() < self.ttl).map(|c| c.describe.clone())
    }

    /// Describes an sObject: from the cache while fresh and when Salesforce says it has not
    /// changed, unless `revalidate` asks unconditionally (for a preflight).
    pub(super) async fn get(
        &self,
        transport: &Transport,
        sobject: &str,
        revalidate: bool,
    ) -> Result<Arc<SObjectDescribe>, SalesforceError> {
        let key = self.key(sobject);
        let cached = {
            let mut e = self.store.inner.lock().expect("describe store");
            match e.lru.get(&key) {
                Some(c) if !revalidate && c.checked.elapsed() < self.ttl => return Ok(c.describe.clone()),
                Some(c) => Some((c.describe.clone(), c.last_modified.clone(), c.bytes)),
                None => None,
            }
        };
        let mut headers = Vec::new();
        if let Some((_, Some(since), _)) = cached.as_ref().filter(|_| !revalidate) {
            headers.push((header::IF_MODIFIED_SINCE, since.clone()));
        }
        let path = format!("/sobjects/{}/describe", utf8_segment(sobject));
        let response = transport.send(Method::GET, &path, &[], None, &headers).await?;
        if response.status() == StatusCode::NOT_MODIFIED
            && let Some((describe, last_modified, bytes)) = cached
        {
            let entry = CachedDescribe { describe: describe.clone(), last_modified, checked: Instant::now(), bytes };
            self.store.insert(key, entry);
            return Ok(describe);
        }
        let last_modified =
            response.headers().get(header::LAST_MODIFIED).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let status = response.status();
        let text = read_bounded(response, MAX_DESCRIBE_BYTES).await?;
        if !status.is_success() {
            return Err(SalesforceError::from_body(status.as_u16(), &text));
        }
        let describe: Arc<SObjectDescribe> = Arc::new(
            serde_json::from_str(&text)
                .map_err(|e| SalesforceError::Protocol(format!("describe of {sobject}: {e}")))?,
        );
        // Counted as what is kept (the subset of describe Portico reads), not the whole answer.
        let bytes = serde_json::to_string(&*describe).map_or(text.len(), |kept| kept.len());
        let entry = CachedDescribe { describe: describe.clone(), last_modified, checked: Instant::now(), bytes };
        self.store.insert(key, entry);
        Ok(describe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(bytes: usize) -> CachedDescribe {
        let json = r#"{"name":"Lead","label":"Lead","createable":true,"updateable":true,"fields":[]}"#;
        let describe = Arc::new(serde_json::from_str(json).unwrap());
        CachedDescribe { describe, last_modified: None, checked: Instant::now(), bytes }
    }

    #[test]
    fn the_least_recently_used_describes_go_first_once_over_budget() {
        let store = DescribeStore::new(1000);
        let (a, b) = (DescribeCache::new(store.clone(), DESCRIBE_TTL), DescribeCache::new(store.clone(), DESCRIBE_TTL));
        store.insert(a.key("Lead"), entry(400));
        store.insert(b.key("Lead"), entry(400));
        assert!(a.fresh("lead").is_some(), "a's Lead is used: b's becomes the least recent");
        store.insert(a.key("Event"), entry(400));
        assert_eq!(store.stats(), DescribeStats { entries: 2, bytes: 800, evictions: 1 });
        assert!(b.fresh("Lead").is_none() && a.fresh("Lead").is_some() && a.fresh("Event").is_some());
        // Replacing an entry counts its new size only.
        store.insert(a.key("Event"), entry(100));
        assert_eq!(store.stats().bytes, 500);
    }
}
