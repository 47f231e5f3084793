//! A tenant's recent `find` answers, kept for a few seconds: bookings mapped one after another
//! that look up the same records (the owner's User, an Account, the attendee's Contact) ask
//! Salesforce once.
//!
//! Never across a commit that could change the answer. A commit through this client drops the
//! answers about every sObject it writes when it starts, and an answer to a find that overlapped
//! such a commit (asked before the commit ended) is not kept. Only what happens outside this
//! client is seen late, by at most the time to live: another replica's commits, another
//! integration, a user in Salesforce, a flow the commit triggered on another sObject.

use portico_model::{FindQuery, Found};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long answers are kept, unless configured.
pub const DEFAULT_FIND_TTL: Duration = Duration::from_secs(5);
/// Bytes of answers one client keeps (each counted as its SOQL plus its records' text); an
/// answer larger than a quarter of it is not kept.
pub const MAX_FIND_CACHE_BYTES: usize = 128 << 10;

/// Recent answers of one org's finds.
#[derive(Debug)]
pub(super) struct FindCache {
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Goes up whenever a commit starts or ends.
    generation: u64,
    /// Commits writing each sObject (lower case), by the sObjects ever written through this
    /// client: a few dozen at most.
    writes: HashMap<String, Writes>,
    /// Answers by their SOQL.
    answers: HashMap<String, Answer>,
    bytes: usize,
}

#[derive(Debug, Default)]
struct Writes {
    in_flight: u32,
    /// The generation at which a commit writing the sObject last started or ended.
    changed: u64,
}

#[derive(Debug)]
struct Answer {
    sobject: String,
    at: Instant,
    found: Vec<Found>,
    bytes: usize,
}

/// What the cache knows of a find.
#[derive(Debug)]
pub(super) enum Lookup {
    /// A kept answer.
    Hit(Vec<Found>),
    /// Not kept: ask Salesforce, then offer the answer with the ticket (if any: none when the
    /// cache is off).
    Miss(Option<Ticket>),
}

/// A find asked of Salesforce, and when.
#[derive(Debug)]
pub(super) struct Ticket {
    soql: String,
    sobject: String,
    generation: u64,
}

impl FindCache {
    /// A cache keeping answers for `ttl` (zero: nothing is kept).
    pub(super) fn new(ttl: Duration) -> FindCache {
        FindCache { ttl, state: Mutex::default() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("find cache lock")
    }

    /// The kept answer to `q`, or a ticket to offer Salesforce's answer with.
    pub(super) fn lookup(&self, q: &FindQuery, now: Instant) -> Lookup {
        if self.ttl.is_zero() {
            return Lookup::Miss(None);
        }
        let soql = portico_model::soql::find_query(q);
        let mut state = self.state();
        match state.answers.get(&soql) {
            Some(a) if now.saturating_duration_since(a.at) < self.ttl => Lookup::Hit(a.found.clone()),
            _ => {
                if let Some(stale) = state.answers.remove(&soql) {
                    state.bytes -= stale.bytes;
                }
                Lookup::Miss(Some(Ticket {
                    soql,
                    sobject: q.sobject.to_ascii_lowercase(),
                    generation: state.generation,
                }))
            }
        }
    }

    /// Keeps Salesforce's answer to the ticket's find, unless a commit writing its sObject was
    /// in flight or ended since the find was asked.
    pub(super) fn keep(&self, ticket: Ticket, found: &[Found], now: Instant) {
        let bytes = ticket.soql.len() + found.iter().map(|f| f.answer_bytes() as usize).sum::<usize>();
        if bytes > MAX_FIND_CACHE_BYTES / 4 {
            return;
        }
        let mut state = self.state();
        let overlapped =
            state.writes.get(&ticket.sobject).is_some_and(|w| w.in_flight > 0 || w.changed > ticket.generation);
        if overlapped {
            return;
        }
        if state.bytes + bytes > MAX_FIND_CACHE_BYTES {
            let ttl = self.ttl;
            state.answers.retain(|_, a| now.saturating_duration_since(a.at) < ttl);
            state.bytes = state.answers.values().map(|a| a.bytes).sum();
        }
        while state.bytes + bytes > MAX_FIND_CACHE_BYTES {
            let oldest = state.answers.iter().min_by_key(|(_, a)| a.at).map(|(k, _)| k.clone());
            let Some(gone) = oldest.and_then(|k| state.answers.remove(&k)) else { break };
            state.bytes -= gone.bytes;
        }
        let answer = Answer { sobject: ticket.sobject, at: now, found: found.to_vec(), bytes };
        state.bytes += bytes;
        if let Some(old) = state.answers.insert(ticket.soql, answer) {
            state.bytes -= old.bytes;
        }
    }

    /// A commit writing `sobjects` starts: the answers about them are dropped, and none is kept
    /// until the returned guard is dropped (when the commit has ended, however it ended).
    pub(super) fn writing<'s>(&self, sobjects: impl IntoIterator<Item = &'s str>) -> Writing<'_> {
        let mut sobjects: Vec<String> = sobjects.into_iter().map(str::to_ascii_lowercase).collect();
        sobjects.sort();
        sobjects.dedup();
        if !self.ttl.is_zero() {
            let mut state = self.state();
            state.generation += 1;
            let generation = state.generation;
            for sobject in &sobjects {
                let w = state.writes.entry(sobject.clone()).or_default();
                w.in_flight += 1;
                w.changed = generation;
            }
            state.answers.retain(|_, a| !sobjects.contains(&a.sobject));
            state.bytes = state.answers.values().map(|a| a.bytes).sum();
        }
        Writing { cache: self, sobjects }
    }
}

/// A commit in flight (see [`FindCache::writing`]).
pub(super) struct Writing<'a> {
    cache: &'a FindCache,
    sobjects: Vec<String>,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        if self.cache.ttl.is_zero() {
            return;
        }
        let mut state = self.cache.state();
        state.generation += 1;
        let generation = state.generation;
        for sobject in &self.sobjects {
            if let Some(w) = state.writes.get_mut(sobject) {
                w.in_flight -= 1;
                w.changed = generation;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_model::{FieldValue, Value};

    fn find(sobject: &str, value: &str) -> FindQuery {
        FindQuery {
            sobject: sobject.into(),
            field: "Email".into(),
            value: Value::Text(value.into()),
            fields: vec!["Email".into()],
            limit: 1,
            oldest_first: true,
            max_bytes: 1 << 20,
        }
    }

    fn record(id: &str) -> Vec<Found> {
        vec![Found {
            id: id.into(),
            fields: vec![FieldValue { name: "Email".into(), value: Value::Text("a@b.c".into()) }],
        }]
    }

    /// Asks `q`: a miss whose answer `found` is offered at `now`.
    fn ask(cache: &FindCache, q: &FindQuery, found: &[Found], now: Instant) -> Option<Vec<Found>> {
        match cache.lookup(q, now) {
            Lookup::Hit(kept) => Some(kept),
            Lookup::Miss(ticket) => {
                cache.keep(ticket.expect("the cache is on"), found, now);
                None
            }
        }
    }

    #[test]
    fn an_answer_is_reused_within_its_time_to_live_only() {
        let cache = FindCache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        let q = find("User", "owner@x.example");
        assert_eq!(ask(&cache, &q, &record("005A"), t0), None);
        assert_eq!(ask(&cache, &q, &record("005B"), t0 + Duration::from_secs(4)), Some(record("005A")));
        assert_eq!(ask(&cache, &q, &record("005B"), t0 + Duration::from_secs(5)), None, "expired: asked again");
        assert_eq!(ask(&cache, &q, &[], t0 + Duration::from_secs(6)), Some(record("005B")));
        assert!(matches!(cache.lookup(&find("User", "other@x.example"), t0), Lookup::Miss(_)), "another value");
    }

    #[test]
    fn nothing_is_kept_when_off() {
        let cache = FindCache::new(Duration::ZERO);
        let q = find("User", "owner@x.example");
        assert!(matches!(cache.lookup(&q, Instant::now()), Lookup::Miss(None)));
        drop(cache.writing(["Lead"]));
    }

    #[test]
    fn a_commit_drops_the_answers_about_what_it_writes_and_keeps_the_others() {
        let cache = FindCache::new(Duration::from_secs(5));
        let now = Instant::now();
        let (lead, user) = (find("Lead", "a@x.example"), find("User", "owner@x.example"));
        ask(&cache, &lead, &[], now);
        ask(&cache, &user, &record("005A"), now);
        drop(cache.writing(["lead", "Event"]));
        assert_eq!(ask(&cache, &lead, &record("00QA"), now), None, "the Lead may exist now: asked again");
        assert_eq!(ask(&cache, &lead, &[], now), Some(record("00QA")), "asked after the commit: kept");
        assert_eq!(ask(&cache, &user, &[], now), Some(record("005A")), "no commit wrote a User");
    }

    #[test]
    fn an_answer_to_a_find_that_overlapped_a_commit_is_not_kept() {
        let cache = FindCache::new(Duration::from_secs(5));
        let now = Instant::now();
        let q = find("Lead", "a@x.example");

        // Asked before the commit started, answered after it ended.
        let Lookup::Miss(Some(ticket)) = cache.lookup(&q, now) else { panic!("a miss") };
        drop(cache.writing(["Lead"]));
        cache.keep(ticket, &[], now);
        assert!(matches!(cache.lookup(&q, now), Lookup::Miss(_)), "the answer may predate the new Lead");

        // Asked and answered while a commit is in flight.
        let writing = cache.writing(["Lead"]);
        assert_eq!(ask(&cache, &q, &[], now), None);
        assert_eq!(ask(&cache, &q, &[], now), None, "not kept while the Lead may be being written");
        drop(writing);

        // Two commits overlapping: kept only once both ended.
        let (first, second) = (cache.writing(["Lead"]), cache.writing(["Lead", "Event"]));
        drop(first);
        assert_eq!(ask(&cache, &q, &[], now), None);
        drop(second);
        assert_eq!(ask(&cache, &q, &record("00QA"), now), None);
        assert_eq!(ask(&cache, &q, &[], now), Some(record("00QA")));

        // A commit of another sObject does not matter.
        let _event = cache.writing(["Event"]);
        assert_eq!(ask(&cache, &q, &[], now), Some(record("00QA")));
    }

    #[test]
    fn the_cache_stays_within_its_bytes() {
        let cache = FindCache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        let big = |id: &str| {
            vec![Found {
                id: id.into(),
                fields: vec![FieldValue { name: "Description".into(), value: Value::Text("x".repeat(10_000)) }],
            }]
        };
        for i in 0..40 {
            ask(&cache, &find("Account", &format!("{i}@x.example")), &big("001"), t0 + Duration::from_millis(i));
            assert!(cache.state().bytes <= MAX_FIND_CACHE_BYTES);
        }
        let state = cache.state();
        assert!(state.answers.len() >= 10, "{} kept", state.answers.len());
        assert!(state.answers.contains_key(&portico_model::soql::find_query(&find("Account", "39@x.example"))));
        assert!(!state.answers.contains_key(&portico_model::soql::find_query(&find("Account", "0@x.example"))));
        drop(state);
        let huge = vec![Found {
            id: "001".into(),
            fields: vec![FieldValue { name: "Description".into(), value: Value::Text("x".repeat(40_000)) }],
        }];
        let q = find("Account", "huge@x.example");
        ask(&cache, &q, &huge, t0);
        assert!(matches!(cache.lookup(&q, t0), Lookup::Miss(_)), "too large to keep");
    }
}
