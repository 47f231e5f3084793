//! The client handle of one tenant's org and its [`Crm`] implementation (describe, find).
//! Tokens, transport, the describe cache and the commit live in the sibling modules.

use super::Secret;
use super::coalesce::Coalescer;
use super::composite::Committed;
use super::describe::{DESCRIBE_TTL, DescribeCache, DescribeStore};
use super::error::SalesforceError;
use super::find::{FindKind, crm_error};
use super::recent::{FindCache, Lookup, Writing, subjects_of};
use super::token::{Connection, Tokens};
use super::transport::{ApiUsage, MAX_ANSWER_BYTES, Transport};
use async_trait::async_trait;
use portico_model::describe::SObjectDescribe;
use portico_model::staging::Unit;
use portico_model::{Crm, CrmError, FindQuery, Found};
use reqwest::Method;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

type FindAnswer = Result<Vec<Found>, CrmError>;
type CommitAnswer = Result<Committed, SalesforceError>;

/// The most finds one combined query answers.
const MAX_FINDS_PER_QUERY: usize = 200;

/// The HTTP client Salesforce clients use: no redirects, a 30 s bound per request, the system's
/// TLS roots plus `extra_ca_pem` (an operator's proxy or a test org).
fn http_client(extra_ca_pem: Option<&str>) -> Result<reqwest::Client, SalesforceError> {
    let mut builder =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(30));
    if let Some(pem) = extra_ca_pem {
        let cert = reqwest::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| SalesforceError::Protocol(format!("the extra CA certificate is not valid PEM: {e}")))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build().map_err(|e| SalesforceError::Network(e.to_string()))
}

/// The describe budget of a client that shares nothing (tools, tests, a preflight).
const OWN_DESCRIBE_BYTES: usize = 64 << 20;

/// How long a combined find or commit waits for more under load, unless configured.
pub const DEFAULT_BATCH_WAIT: Duration = Duration::from_millis(10);

/// What the clients of many orgs share: one HTTP client (connection pools, TLS roots) and one
/// byte-bounded describe store.
#[derive(Clone, Debug)]
pub struct Shared {
    http: reqwest::Client,
    /// How long a combined find or commit waits for more (see `coalesce`); `None`: every find
    /// and commit is a request of its own.
    batch_wait: Option<Duration>,
    /// How long each client keeps its finds' answers (see `recent`); zero: not at all.
    find_ttl: Duration,
    /// Finds the clients sharing this answered from their recent answers.
    find_hits: Arc<AtomicU64>,
    /// Each tenant's find cache while a client of it lives: a client built again for the
    /// tenant takes it over, with the commits its predecessor still has running.
    recent: Arc<Mutex<HashMap<String, Weak<FindCache>>>>,
    /// The describes of every client sharing this.
    pub describes: Arc<DescribeStore>,
}

impl Shared {
    /// An HTTP client trusting `extra_ca_pem` besides the system's roots, and a describe store
    /// of `describe_bytes`; finds and commits share requests, a combined one waiting up to
    /// `batch_wait` for more (`None`: they share nothing).
    pub fn new(
        extra_ca_pem: Option<&str>,
        describe_bytes: usize,
        batch_wait: Option<Duration>,
    ) -> Result<Shared, SalesforceError> {
        Ok(Shared {
            http: http_client(extra_ca_pem)?,
            batch_wait,
            find_ttl: Duration::ZERO,
            find_hits: Arc::default(),
            recent: Arc::default(),
            describes: DescribeStore::new(describe_bytes),
        })
    }

    /// Each client keeps its finds' answers for `ttl` (see `recent`; zero, the default: not at
    /// all).
    pub fn with_find_cache(mut self, ttl: Duration) -> Shared {
        self.find_ttl = ttl;
        self
    }

    /// Finds answered from a client's recent answers, since this was made.
    pub fn find_cache_hits(&self) -> u64 {
        self.find_hits.load(Ordering::Relaxed)
    }

    /// The tenant's find cache: the one an earlier client of the tenant still holds (its
    /// commits may be running), its answers dropped, else a new one.
    fn recent_for(&self, tenant: &str) -> Arc<FindCache> {
        let mut caches = self.recent.lock().expect("find caches lock");
        if let Some(cache) = caches.get(tenant).and_then(Weak::upgrade) {
            cache.clear();
            return cache;
        }
        if caches.len() >= 64 && caches.len().is_power_of_two() {
            caches.retain(|_, cache| cache.strong_count() > 0);
        }
        let cache = FindCache::new(self.find_ttl);
        caches.insert(tenant.to_owned(), Arc::downgrade(&cache));
        cache
    }
}

/// Whether a commit's answer tells its outcome; otherwise its request may still land.
fn settled(answer: &CommitAnswer) -> bool {
    !matches!(
        answer,
        Err(SalesforceError::OutcomeUnknown(_)
            | SalesforceError::Network(_)
            | SalesforceError::Protocol(_)
            | SalesforceError::TooLarge { .. })
    )
}

/// Ends a commit's hold on the find cache with its answer: done when the answer tells the
/// outcome, else dropped (unsettled).
fn release(writing: Writing, answer: &CommitAnswer) {
    if settled(answer) {
        writing.done();
    }
}

/// Ends a commit's hold with its answer, passing the answer on.
fn finish(answer: CommitAnswer, writing: Writing) -> CommitAnswer {
    release(writing, &answer);
    answer
}

/// A client for one tenant's org.
///
/// Concurrent finds of one kind and concurrent commits share requests (see `coalesce`): the
/// first goes out at once, those that arrive while it is in flight go together next.
pub struct SalesforceClient {
    transport: Arc<Transport>,
    describes: DescribeCache,
    finds: Arc<Coalescer<FindKind, FindQuery, FindAnswer>>,
    /// Units with their hold on the find cache, released when their request has ended.
    commits: Arc<Coalescer<(), (Unit, Writing), CommitAnswer>>,
    /// Finds and commits share requests (else each is a request of its own).
    share: bool,
    /// Recent answers of finds.
    recent: Arc<FindCache>,
    find_hits: Arc<AtomicU64>,
}

impl std::fmt::Debug for SalesforceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceClient")
            .field("instance_url", &self.transport.tokens.conn.instance_url.as_str())
            .finish()
    }
}

impl SalesforceClient {
    /// A client for a connection, with an HTTP client and describe cache of its own. No request
    /// is made until the first call.
    pub fn new(conn: Connection) -> Result<SalesforceClient, SalesforceError> {
        let shared = Shared::new(conn.extra_ca_pem.as_deref(), OWN_DESCRIBE_BYTES, Some(DEFAULT_BATCH_WAIT))?;
        SalesforceClient::sharing(conn, &shared)
    }

    /// A client for a connection sharing the HTTP client and describe store of `shared` with the
    /// other orgs' clients (`shared` must trust the same extra CA as the connection), with a
    /// find cache of its own.
    pub fn sharing(conn: Connection, shared: &Shared) -> Result<SalesforceClient, SalesforceError> {
        SalesforceClient::build(conn, shared, FindCache::new(shared.find_ttl))
    }

    /// As [`SalesforceClient::sharing`], for `tenant`: a client built again for the tenant (a
    /// new connection, after an eviction) takes over its find cache while an earlier one lives.
    pub fn sharing_for(tenant: &str, conn: Connection, shared: &Shared) -> Result<SalesforceClient, SalesforceError> {
        SalesforceClient::build(conn, shared, shared.recent_for(tenant))
    }

    fn build(conn: Connection, shared: &Shared, recent: Arc<FindCache>) -> Result<SalesforceClient, SalesforceError> {
        let http = shared.http.clone();
        let tokens = Tokens::new(conn, http.clone())?;
        let transport = Arc::new(Transport::new(tokens, http));
        let finds = {
            let transport = transport.clone();
            Coalescer::new(
                MAX_FINDS_PER_QUERY,
                shared.batch_wait.unwrap_or_default(),
                Box::new(move |_kind, finds: Vec<FindQuery>| {
                    let transport = transport.clone();
                    Box::pin(async move { super::find::find_many(&transport, &finds).await })
                }),
            )
        };
        let commits = {
            let transport = transport.clone();
            Coalescer::new(
                super::graph::MAX_GRAPHS,
                shared.batch_wait.unwrap_or_default(),
                Box::new(move |(), items: Vec<(Unit, Writing)>| {
                    let transport = transport.clone();
                    Box::pin(async move {
                        let (units, writings): (Vec<Unit>, Vec<Writing>) = items.into_iter().unzip();
                        let answers = super::graph::commit_many(&transport, &units).await;
                        for (writing, answer) in writings.into_iter().zip(&answers) {
                            release(writing, answer);
                        }
                        answers
                    })
                }),
            )
        };
        let describes = DescribeCache::new(shared.describes.clone(), DESCRIBE_TTL);
        Ok(SalesforceClient {
            transport,
            describes,
            finds,
            commits,
            share: shared.batch_wait.is_some(),
            recent,
            find_hits: shared.find_hits.clone(),
        })
    }

    /// Keeps finds' answers for `ttl` (zero: not at all; see `recent`).
    pub fn with_find_cache(mut self, ttl: Duration) -> SalesforceClient {
        self.recent = FindCache::new(ttl);
        self
    }

    /// Changes how long describes are used before revalidation (default [`DESCRIBE_TTL`]).
    pub fn with_describe_ttl(mut self, ttl: Duration) -> SalesforceClient {
        self.describes.ttl = ttl;
        self
    }

    /// REST API requests this client has sent (token requests not included: they do not
    /// count against the org's API allowance).
    pub fn api_calls(&self) -> u64 {
        self.transport.api_calls()
    }

    /// API usage as last reported by Salesforce.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.transport.api_usage()
    }

    /// A refresh token Salesforce rotated since the last call, once: the caller must store it,
    /// since the one the connection was built with may no longer work.
    pub fn take_rotated_refresh_token(&self) -> Option<Secret> {
        self.transport.tokens.take_rotated_refresh_token()
    }

    /// Hands a rotated refresh token back: storing it failed, the next caller tries again.
    pub fn rotation_not_stored(&self, token: &Secret) {
        self.transport.tokens.rotation_not_stored(token)
    }

    /// The describe of `sobject` if the cache holds it and it is fresh (no round trip needed).
    pub fn fresh_describe(&self, sobject: &str) -> Option<Arc<SObjectDescribe>> {
        self.describes.fresh(sobject)
    }

    /// Describes an sObject, from the cache when Salesforce says it has not changed.
    pub async fn describe_object(&self, sobject: &str) -> Result<Arc<SObjectDescribe>, SalesforceError> {
        self.describes.get(&self.transport, sobject, false).await
    }

    /// Describes an sObject asking Salesforce unconditionally (a change of the user's
    /// field-level security need not change the describe's `Last-Modified`), for a preflight,
    /// which must see the user's permissions as they are now. The cache is updated.
    pub async fn describe_now(&self, sobject: &str) -> Result<Arc<SObjectDescribe>, SalesforceError> {
        self.describes.get(&self.transport, sobject, true).await
    }

    /// `GET /limits`: the org's limits (also a cheap check that the session and API access work).
    pub async fn limits(&self) -> Result<serde_json::Value, SalesforceError> {
        self.transport.limits().await
    }

    /// Commits a staged unit all-or-nothing: alone in one Composite request with `allOrNone`
    /// when no other commit is in flight, else with the units that queued meanwhile, one
    /// Composite Graph per unit.
    pub async fn commit(&self, unit: &Unit) -> Result<Committed, SalesforceError> {
        // The answers about what it writes and names may change, until its request has ended
        // (which, for a shared request, may be after this caller stopped waiting).
        let writing = self.recent.writing(subjects_of(unit));
        let transport = &self.transport;
        if !self.share {
            return finish(super::composite::commit(transport, unit).await, writing);
        }
        self.commits
            .submit((), (unit.clone(), writing), |(unit, writing)| async move {
                finish(super::composite::commit(transport, &unit).await, writing)
            })
            .await
            .unwrap_or_else(|_| {
                Err(SalesforceError::OutcomeUnknown("the shared commit ended without an answer".into()))
            })
    }
}

impl SalesforceClient {
    /// A find asked of Salesforce: alone, or with others of its kind in flight meanwhile.
    async fn ask(&self, query: &FindQuery) -> Result<Vec<Found>, CrmError> {
        let transport = &self.transport;
        let Some(kind) = FindKind::of(query).filter(|_| self.share) else {
            return super::find::find_one(transport, query).await;
        };
        self.finds
            .submit(kind, query.clone(), |query| async move { super::find::find_one(transport, &query).await })
            .await
            .unwrap_or_else(|_| Err(CrmError::transient("the shared query ended without an answer")))
    }
}

#[async_trait]
impl Crm for SalesforceClient {
    async fn describe(&self, sobject: &str) -> Result<Arc<SObjectDescribe>, CrmError> {
        self.describe_object(sobject).await.map_err(|e| crm_error(sobject, e))
    }

    fn cached_describe(&self, sobject: &str) -> Option<Arc<SObjectDescribe>> {
        self.fresh_describe(sobject)
    }

    async fn sobjects(&self) -> Result<Vec<String>, CrmError> {
        let response =
            self.transport.send(Method::GET, "/sobjects", &[], None, &[]).await.map_err(|e| crm_error("", e))?;
        let json = Transport::ok_json(response, MAX_ANSWER_BYTES).await.map_err(|e| crm_error("", e))?;
        Ok(json["sobjects"]
            .as_array()
            .map(|list| list.iter().filter_map(|o| o["name"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default())
    }

    async fn find(&self, query: &FindQuery) -> Result<Vec<Found>, CrmError> {
        let ticket = match self.recent.lookup(query, Instant::now()) {
            Lookup::Hit(found) => {
                self.find_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(found);
            }
            Lookup::Miss(ticket) => ticket,
        };
        let answer = self.ask(query).await;
        if let (Some(ticket), Ok(found)) = (ticket, &answer) {
            self.recent.keep(ticket, found, Instant::now());
        }
        answer
    }
}
