//! A tenant's recent `find` answers, kept for a few seconds: bookings mapped one after another
//! that look up the same records (the owner's User, an Account, the attendee's Contact) ask
//! Salesforce once.
//!
//! Never across a commit that could change the answer. A commit's *subjects* are the sObjects
//! it writes and the existing records its fields refer to by id (an Event's `WhoId` changes its
//! Lead's `LastActivityDate`, a child changes its parent's roll-ups); an answer's are its
//! sObject and the records it holds. When a commit starts, the answers sharing a subject with
//! it are dropped, and an answer to a find that overlapped such a commit (asked before the
//! commit ended) is not kept. A commit whose end is not known (its caller gave up while the
//! request may still land) keeps its subjects out of the cache for [`UNSETTLED`]. The cache
//! outlives a tenant's client while commits through that client run, so a client built again
//! (a new connection, a client cache eviction) still sees them.
//!
//! Only what happens outside this replica is seen late, by at most the time to live: another
//! replica's commits, another integration, a user in Salesforce, a flow or trigger reaching
//! records the commit did not name.

use portico_model::staging::Unit;
use portico_model::{FindQuery, Found, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long answers are kept, unless configured.
pub const DEFAULT_FIND_TTL: Duration = Duration::from_secs(5);
/// Bytes of answers one tenant keeps (each counted as its key plus its records' text and a
/// fixed cost); an answer larger than a quarter of it is not kept.
pub const MAX_FIND_CACHE_BYTES: usize = 128 << 10;
/// How long the subjects of a commit whose end is unknown stay out of the cache: beyond the
/// 30 s a request may take, and the waits of a commit queued behind others.
pub const UNSETTLED: Duration = Duration::from_secs(120);
/// The fixed cost counted per kept answer.
const ANSWER_OVERHEAD: usize = 128;
/// Subjects tracked after their commits ended, at most (older ones are forgotten, and any find
/// asked before the newest forgotten one is not kept).
const MAX_TRACKED: usize = 4_096;

/// Recent answers of one tenant's finds.
#[derive(Debug)]
pub(super) struct FindCache {
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Goes up whenever a commit starts or ends.
    generation: u64,
    /// Commits on each subject: in flight, last started or ended.
    writes: HashMap<String, Writes>,
    /// A find asked before this generation is not kept (subjects were forgotten since).
    forgotten: u64,
    /// Answers by their key.
    answers: HashMap<String, Answer>,
    bytes: usize,
}

#[derive(Debug, Default)]
struct Writes {
    in_flight: u32,
    /// The generation at which a commit on the subject last started or ended.
    changed: u64,
    /// A commit on it ended without its outcome known: nothing about it is kept before then.
    unsettled_until: Option<Instant>,
}

#[derive(Debug)]
struct Answer {
    subjects: Vec<String>,
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
    key: String,
    sobject: String,
    generation: u64,
}

fn object_subject(sobject: &str) -> String {
    format!("o:{}", sobject.to_ascii_lowercase())
}

/// A record's subject: its id's first 15 characters (Salesforce ids are case-sensitive).
fn record_subject(id: &str) -> String {
    format!("r:{}", id.get(..15).unwrap_or(id))
}

/// The subjects of a commit of `unit`: the sObjects it writes, the records its fields name.
pub(super) fn subjects_of(unit: &Unit) -> Vec<String> {
    let mut subjects = Vec::new();
    for record in &unit.records {
        subjects.push(object_subject(&record.reference.sobject));
        for field in &record.fields {
            match &field.value {
                Value::Text(t) if portico_model::value::is_salesforce_id(t) => subjects.push(record_subject(t)),
                Value::RecordRef(r) => subjects.push(object_subject(&r.sobject)),
                _ => {}
            }
        }
    }
    subjects.sort();
    subjects.dedup();
    subjects
}

impl FindCache {
    /// A cache keeping answers for `ttl` (zero: nothing is kept).
    pub(super) fn new(ttl: Duration) -> Arc<FindCache> {
        Arc::new(FindCache { ttl, state: Mutex::default() })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("find cache lock")
    }

    /// Drops every kept answer (what commits are in flight is still tracked).
    pub(super) fn clear(&self) {
        let mut state = self.state();
        state.answers.clear();
        state.bytes = 0;
    }

    /// The kept answer to `q`, or a ticket to offer Salesforce's answer with.
    pub(super) fn lookup(&self, q: &FindQuery, now: Instant) -> Lookup {
        if self.ttl.is_zero() {
            return Lookup::Miss(None);
        }
        // The SOQL decides the records; the fields as asked decide their shape.
        let key = format!("{}\n{}", portico_model::soql::find_query(q), q.fields.join(","));
        let mut state = self.state();
        match state.answers.get(&key) {
            Some(a) if now.saturating_duration_since(a.at) < self.ttl => Lookup::Hit(a.found.clone()),
            _ => {
                if let Some(stale) = state.answers.remove(&key) {
                    state.bytes -= stale.bytes;
                }
                Lookup::Miss(Some(Ticket { key, sobject: q.sobject.clone(), generation: state.generation }))
            }
        }
    }

    /// Keeps Salesforce's answer to the ticket's find, unless a commit sharing a subject with it
    /// is in flight, unsettled, or started or ended since the find was asked.
    pub(super) fn keep(&self, ticket: Ticket, found: &[Found], now: Instant) {
        let bytes =
            ticket.key.len() + ANSWER_OVERHEAD + found.iter().map(|f| f.answer_bytes() as usize + 32).sum::<usize>();
        if bytes > MAX_FIND_CACHE_BYTES / 4 {
            return;
        }
        let mut subjects = vec![object_subject(&ticket.sobject)];
        subjects.extend(found.iter().map(|f| record_subject(&f.id)));
        let mut state = self.state();
        let overlapped = ticket.generation < state.forgotten
            || subjects.iter().any(|s| {
                state.writes.get(s).is_some_and(|w| {
                    w.in_flight > 0 || w.changed > ticket.generation || w.unsettled_until.is_some_and(|t| now < t)
                })
            });
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
        state.bytes += bytes;
        let answer = Answer { subjects, at: now, found: found.to_vec(), bytes };
        if let Some(old) = state.answers.insert(ticket.key, answer) {
            state.bytes -= old.bytes;
        }
    }

    /// A commit on `subjects` (see [`subjects_of`]) starts: the answers sharing one are dropped,
    /// and none is kept until the returned guard is done. A guard dropped before it is done (its
    /// commit may still land) keeps them out for [`UNSETTLED`].
    pub(super) fn writing(self: &Arc<Self>, subjects: Vec<String>) -> Writing {
        if !self.ttl.is_zero() {
            let mut state = self.state();
            state.generation += 1;
            let generation = state.generation;
            for subject in &subjects {
                let w = state.writes.entry(subject.clone()).or_default();
                w.in_flight += 1;
                w.changed = generation;
            }
            state.answers.retain(|_, a| !a.subjects.iter().any(|s| subjects.contains(s)));
            state.bytes = state.answers.values().map(|a| a.bytes).sum();
        }
        Writing { cache: self.clone(), subjects, done: false }
    }

    fn ended(&self, subjects: &[String], settled: bool, now: Instant) {
        let mut state = self.state();
        state.generation += 1;
        let generation = state.generation;
        for subject in subjects {
            if let Some(w) = state.writes.get_mut(subject) {
                w.in_flight -= 1;
                w.changed = generation;
                if !settled {
                    w.unsettled_until = Some(now + UNSETTLED);
                }
            }
        }
        if state.writes.len() > MAX_TRACKED {
            let mut forgotten = state.forgotten;
            state.writes.retain(|_, w| {
                let keep = w.in_flight > 0 || w.unsettled_until.is_some_and(|t| now < t);
                if !keep {
                    forgotten = forgotten.max(w.changed);
                }
                keep
            });
            state.forgotten = forgotten;
        }
    }
}

/// A commit in flight (see [`FindCache::writing`]).
#[derive(Debug)]
pub(super) struct Writing {
    cache: Arc<FindCache>,
    subjects: Vec<String>,
    done: bool,
}

impl Writing {
    /// The commit ended and its outcome is known (committed, or refused with nothing written).
    pub(super) fn done(mut self) {
        self.done = true;
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        if !self.cache.ttl.is_zero() {
            self.cache.ended(&self.subjects, self.done, Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_model::FieldValue;

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

    /// The subjects of a commit writing `sobjects`.
    fn on(sobjects: &[&str]) -> Vec<String> {
        sobjects.iter().map(|s| object_subject(s)).collect()
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

    fn consistent(cache: &FindCache) {
        let state = cache.state();
        assert_eq!(state.bytes, state.answers.values().map(|a| a.bytes).sum::<usize>());
        assert!(state.bytes <= MAX_FIND_CACHE_BYTES);
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
        consistent(&cache);
        cache.clear();
        assert!(matches!(cache.lookup(&q, t0), Lookup::Miss(_)), "cleared");
        consistent(&cache);
    }

    #[test]
    fn finds_that_differ_only_in_the_fields_they_name_are_kept_apart() {
        let cache = FindCache::new(Duration::from_secs(5));
        let now = Instant::now();
        // `Id` is always selected, so these three send the same SOQL but want other shapes.
        let id_only = FindQuery { fields: vec!["Id".into()], ..find("Lead", "a@x.example") };
        let nothing = FindQuery { fields: vec![], ..find("Lead", "a@x.example") };
        let reordered = FindQuery { fields: vec!["Email".into(), "Id".into()], ..find("Lead", "a@x.example") };
        let with_id = vec![Found {
            id: "00QA".into(),
            fields: vec![FieldValue { name: "Id".into(), value: Value::Text("00QA".into()) }],
        }];
        ask(&cache, &id_only, &with_id, now);
        assert!(matches!(cache.lookup(&nothing, now), Lookup::Miss(_)));
        assert!(matches!(cache.lookup(&reordered, now), Lookup::Miss(_)));
        assert_eq!(ask(&cache, &id_only, &[], now), Some(with_id));
    }

    #[test]
    fn nothing_is_kept_when_off() {
        let cache = FindCache::new(Duration::ZERO);
        let q = find("User", "owner@x.example");
        assert!(matches!(cache.lookup(&q, Instant::now()), Lookup::Miss(None)));
        cache.writing(on(&["Lead"])).done();
    }

    #[test]
    fn a_commit_drops_the_answers_about_what_it_writes_and_keeps_the_others() {
        let cache = FindCache::new(Duration::from_secs(5));
        let now = Instant::now();
        let (lead, user) = (find("Lead", "a@x.example"), find("User", "owner@x.example"));
        ask(&cache, &lead, &[], now);
        ask(&cache, &user, &record("005A"), now);
        cache.writing(on(&["lead", "Event"])).done();
        assert_eq!(ask(&cache, &lead, &record("00QA"), now), None, "the Lead may exist now: asked again");
        assert_eq!(ask(&cache, &lead, &[], now), Some(record("00QA")), "asked after the commit: kept");
        assert_eq!(ask(&cache, &user, &[], now), Some(record("005A")), "no commit wrote a User");
        consistent(&cache);
    }

    #[test]
    fn a_commit_naming_a_record_drops_the_answers_that_hold_it() {
        let cache = FindCache::new(Duration::from_secs(5));
        let now = Instant::now();
        let (lead, contact) = (find("Lead", "a@x.example"), find("Contact", "b@x.example"));
        let lead_id = "00Q000000000001AAA";
        ask(&cache, &lead, &record(lead_id), now);
        ask(&cache, &contact, &record("003000000000001AAA"), now);
        // An Event whose WhoId is the Lead (its LastActivityDate may change): 15 or 18
        // characters name the same record.
        let mut subjects = on(&["Event"]);
        subjects.push(record_subject(&lead_id[..15]));
        let writing = cache.writing(subjects);
        assert_eq!(ask(&cache, &lead, &record(lead_id), now), None, "dropped");
        assert_eq!(ask(&cache, &lead, &record(lead_id), now), None, "and not kept while the Event is written");
        assert_eq!(ask(&cache, &contact, &[], now), Some(record("003000000000001AAA")));
        writing.done();
        assert_eq!(ask(&cache, &lead, &record(lead_id), now), None);
        assert_eq!(ask(&cache, &lead, &[], now), Some(record(lead_id)));
    }

    #[test]
    fn an_answer_to_a_find_that_overlapped_a_commit_is_not_kept() {
        let cache = FindCache::new(Duration::from_secs(5));
        let now = Instant::now();
        let q = find("Lead", "a@x.example");

        // Asked before the commit started, answered after it ended.
        let Lookup::Miss(Some(ticket)) = cache.lookup(&q, now) else { panic!("a miss") };
        cache.writing(on(&["Lead"])).done();
        cache.keep(ticket, &[], now);
        assert!(matches!(cache.lookup(&q, now), Lookup::Miss(_)), "the answer may predate the new Lead");

        // Asked and answered while a commit is in flight.
        let writing = cache.writing(on(&["Lead"]));
        assert_eq!(ask(&cache, &q, &[], now), None);
        assert_eq!(ask(&cache, &q, &[], now), None, "not kept while the Lead may be being written");
        writing.done();

        // Two commits overlapping: kept only once both ended.
        let (first, second) = (cache.writing(on(&["Lead"])), cache.writing(on(&["Lead", "Event"])));
        first.done();
        assert_eq!(ask(&cache, &q, &[], now), None);
        second.done();
        assert_eq!(ask(&cache, &q, &record("00QA"), now), None);
        assert_eq!(ask(&cache, &q, &[], now), Some(record("00QA")));

        // A commit of another sObject does not matter.
        let event = cache.writing(on(&["Event"]));
        assert_eq!(ask(&cache, &q, &[], now), Some(record("00QA")));
        event.done();
    }

    #[test]
    fn a_commit_given_up_keeps_its_subjects_out_until_it_must_have_landed() {
        let cache = FindCache::new(Duration::from_secs(5));
        let now = Instant::now();
        let q = find("Lead", "a@x.example");
        // Its caller stopped waiting: the request may still be applied later.
        drop(cache.writing(on(&["Lead"])));
        assert_eq!(ask(&cache, &q, &[], now), None);
        assert_eq!(ask(&cache, &q, &[], now), None, "not kept while the commit may land");
        let later = Instant::now() + UNSETTLED + Duration::from_secs(1);
        assert_eq!(ask(&cache, &q, &record("00QA"), later), None);
        assert_eq!(ask(&cache, &q, &[], later), Some(record("00QA")), "kept once it must have landed");
    }

    #[test]
    fn forgotten_commits_refuse_the_finds_asked_before_them() {
        let cache = FindCache::new(Duration::from_secs(5));
        let now = Instant::now();
        let q = find("Lead", "a@x.example");
        let Lookup::Miss(Some(ticket)) = cache.lookup(&q, now) else { panic!("a miss") };
        cache.writing(on(&["Lead"])).done();
        for i in 0..MAX_TRACKED {
            cache.writing(vec![record_subject(&format!("001{i:012}"))]).done();
        }
        assert!(cache.state().writes.len() <= MAX_TRACKED + 1, "tracking stays bounded");
        cache.keep(ticket, &[], now);
        assert!(matches!(cache.lookup(&q, now), Lookup::Miss(_)), "the Lead's commit was forgotten, not missed");
        assert_eq!(ask(&cache, &q, &[], now), None);
        assert_eq!(ask(&cache, &q, &[], now), Some(vec![]), "a find asked after it is kept");
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
            consistent(&cache);
        }
        // Replacing an expired answer, and expired answers making room.
        let later = t0 + Duration::from_secs(6);
        ask(&cache, &find("Account", "39@x.example"), &big("001"), later);
        consistent(&cache);
        ask(&cache, &find("Account", "new@x.example"), &big("001"), later);
        consistent(&cache);
        {
            let state = cache.state();
            assert_eq!(state.answers.len(), 2, "the expired ones made room");
        }
        for i in 0..40 {
            ask(
                &cache,
                &find("Account", &format!("more-{i}@x.example")),
                &big("001"),
                later + Duration::from_millis(i),
            );
            consistent(&cache);
        }
        {
            let state = cache.state();
            assert!(state.answers.len() >= 10, "{} kept", state.answers.len());
        }
        assert!(
            matches!(cache.lookup(&find("Account", "more-39@x.example"), later), Lookup::Hit(_)),
            "the newest stays"
        );
        assert!(
            matches!(cache.lookup(&find("Account", "more-0@x.example"), later), Lookup::Miss(_)),
            "the oldest went"
        );
        let huge = vec![Found {
            id: "001".into(),
            fields: vec![FieldValue { name: "Description".into(), value: Value::Text("x".repeat(40_000)) }],
        }];
        let q = find("Account", "huge@x.example");
        ask(&cache, &q, &huge, later);
        assert!(matches!(cache.lookup(&q, later), Lookup::Miss(_)), "too large to keep");
        consistent(&cache);
    }
}
