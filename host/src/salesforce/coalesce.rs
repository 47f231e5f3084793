//! Requests of one org that arrive together share one round trip.
//!
//! The first caller of a kind sends its own request at once, so nothing waits at rest. Callers
//! of the same kind that arrive while requests of it are in flight queue up and go out together
//! as one combined request (up to a maximum per request). Each caller gets its own answer.
//! Under a backlog this turns N requests into about N / (arrivals per batch).
//!
//! A combined request first waits up to `linger` for more callers: it goes as soon as it is
//! full, or once no new caller has come for a fifth of `linger` (callers that arrive together
//! go together, without waiting out the whole linger when no more are coming). A bounded delay,
//! paid only under load, that lets one round trip serve more of them.
//! "Under load" is: a request of the kind is in flight, or one ended less than `linger` ago (so
//! a burst does not send its first caller of each kind alone). Up to [`IN_FLIGHT`] requests of
//! a kind may be in flight at once, so a distant org (long round trips) is not reduced to one
//! request per round trip. At rest nothing waits.
//!
//! Combined requests run on their own task: a caller that gives up (its invocation was
//! stopped) cancels only its own wait, never a request others depend on; a caller whose own
//! request is cancelled frees its place all the same.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// A boxed future that may move between threads.
pub(super) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

type Waiting<T, R> = Vec<(T, oneshot::Sender<R>)>;
type Many<K, T, R> = dyn Fn(K, Vec<T>) -> BoxFuture<Vec<R>> + Send + Sync;

/// Requests of one kind in flight at once, at most.
pub const IN_FLIGHT: usize = 4;

/// The combined request ended without an answer for this caller (its task panicked).
#[derive(Debug)]
pub(super) struct Lost;

/// One kind's state while it is busy.
struct Slot<T, R> {
    /// Callers waiting for a combined request.
    queue: Waiting<T, R>,
    /// Requests of the kind in flight.
    in_flight: usize,
    /// A combined request is being formed (lingering or waiting for a place in flight).
    forming: bool,
}

/// Queues requests per kind `K` while requests of that kind are in flight.
pub(super) struct Coalescer<K, T, R> {
    /// Busy kinds; a kind absent here is at rest.
    slots: Mutex<HashMap<K, Slot<T, R>>>,
    /// The most items one combined request takes.
    max: usize,
    /// How long a combined request waits for more callers before it goes.
    linger: Duration,
    /// Told when a caller queues up or a request ends (a forming request looks again).
    changed: Notify,
    /// When each kind's last request ended, while that is less than `linger` ago.
    ended: Mutex<HashMap<K, tokio::time::Instant>>,
    /// Sends a combined request, answering each item in order.
    many: Box<Many<K, T, R>>,
}

impl<K, T, R> Coalescer<K, T, R>
where
    K: Clone + Eq + Hash + Send + 'static,
    T: Send + 'static,
    R: Send + 'static,
{
    /// `many` sends up to `max` queued items as one request (splitting further if its own
    /// limits require) and returns one answer per item, in order. A combined request waits up
    /// to `linger` for more callers.
    pub(super) fn new(max: usize, linger: Duration, many: Box<Many<K, T, R>>) -> Arc<Self> {
        Arc::new(Coalescer {
            slots: Mutex::new(HashMap::new()),
            max: max.max(1),
            linger,
            changed: Notify::new(),
            ended: Mutex::new(HashMap::new()),
            many,
        })
    }

    /// Answers `item`: with `alone(item)` when its kind is at rest, else in a combined request.
    pub(super) async fn submit<F>(self: &Arc<Self>, key: K, item: T, alone: impl FnOnce(T) -> F) -> Result<R, Lost>
    where
        F: Future<Output = R>,
    {
        let (waiting, form) = {
            let mut slots = self.slots.lock().expect("coalescer lock");
            let at_rest = !slots.contains_key(&key) && !self.busy_lately(&key);
            let slot =
                slots.entry(key.clone()).or_insert_with(|| Slot { queue: Vec::new(), in_flight: 0, forming: false });
            if at_rest {
                slot.in_flight += 1;
                (Ok(item), false)
            } else {
                let (tx, rx) = oneshot::channel();
                slot.queue.push((item, tx));
                // A forming request counts arrivals (and goes at once when full).
                self.changed.notify_waiters();
                let form = !slot.forming;
                slot.forming = true;
                (Err(rx), form)
            }
        };
        if form {
            self.form(key.clone());
        }
        match waiting {
            Ok(item) => {
                let _done = Done { coalescer: self.clone(), key: Some(key) };
                Ok(alone(item).await)
            }
            Err(rx) => rx.await.map_err(|_| Lost),
        }
    }

    /// Forms the kind's next combined request on its own task: lingers for more callers, waits
    /// for a place in flight, takes up to `max` of the queue and sends them; whatever is left
    /// forms the next one.
    fn form(self: &Arc<Self>, key: K) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to send on (shutting down): the waiting callers see `Lost`.
            self.slots.lock().expect("coalescer lock").remove(&key);
            return;
        };
        let this = self.clone();
        runtime.spawn(async move {
            let deadline = tokio::time::Instant::now() + this.linger;
            let quiet = this.linger / 5;
            let (mut seen, mut quiet_until) = (0, tokio::time::Instant::now() + quiet);
            let batch: Waiting<T, R> = loop {
                // Listening before looking: a change in between is not missed.
                let changed = this.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                {
                    let mut slots = this.slots.lock().expect("coalescer lock");
                    let slot = slots.get_mut(&key).expect("a forming kind stays busy");
                    let now = tokio::time::Instant::now();
                    if slot.queue.len() > seen {
                        (seen, quiet_until) = (slot.queue.len(), now + quiet);
                    }
                    let ready = slot.queue.len() >= this.max || now >= deadline.min(quiet_until);
                    if ready && slot.in_flight < IN_FLIGHT {
                        let n = slot.queue.len().min(this.max);
                        let batch: Waiting<T, R> = slot.queue.drain(..n).collect();
                        slot.in_flight += 1;
                        slot.forming = !slot.queue.is_empty();
                        if slot.forming {
                            drop(slots);
                            this.form(key.clone());
                        }
                        break batch;
                    }
                }
                let until = deadline.min(quiet_until).max(tokio::time::Instant::now());
                let _ = tokio::time::timeout_at(until, changed).await;
                if tokio::time::Instant::now() >= deadline.min(quiet_until) {
                    // Past the linger: from now on only a place in flight is awaited.
                    let changed = this.changed.notified();
                    tokio::pin!(changed);
                    changed.as_mut().enable();
                    let free =
                        this.slots.lock().expect("coalescer lock").get(&key).is_none_or(|s| s.in_flight < IN_FLIGHT);
                    if !free {
                        changed.await;
                    }
                }
            };
            let _done = Done { coalescer: this.clone(), key: Some(key.clone()) };
            let (items, replies): (Vec<T>, Vec<oneshot::Sender<R>>) = batch.into_iter().unzip();
            let answers = (this.many)(key, items).await;
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        });
    }

    /// A request of the kind ended: its place is free, and a kind with nothing left is at rest.
    fn ended(&self, key: K) {
        {
            let mut slots = self.slots.lock().expect("coalescer lock");
            let Some(slot) = slots.get_mut(&key) else { return };
            slot.in_flight = slot.in_flight.saturating_sub(1);
            if slot.in_flight == 0 && slot.queue.is_empty() && !slot.forming {
                slots.remove(&key);
                if !self.linger.is_zero() {
                    let mut ended = self.ended.lock().expect("coalescer lock");
                    if ended.len() >= 64 {
                        ended.retain(|_, at| at.elapsed() < self.linger);
                    }
                    ended.insert(key, tokio::time::Instant::now());
                }
            }
        }
        self.changed.notify_waiters();
    }

    /// Whether a request of this kind ended less than `linger` ago.
    fn busy_lately(&self, key: &K) -> bool {
        !self.linger.is_zero()
            && self.ended.lock().expect("coalescer lock").get(key).is_some_and(|at| at.elapsed() < self.linger)
    }

    /// Kinds with a request in flight (for tests and metrics).
    #[cfg(test)]
    fn busy(&self) -> usize {
        self.slots.lock().expect("coalescer lock").len()
    }

    /// Callers of a kind waiting for a combined request (for tests).
    #[cfg(test)]
    fn queued(&self, key: &K) -> usize {
        self.slots.lock().expect("coalescer lock").get(key).map_or(0, |s| s.queue.len())
    }
}

/// Frees a request's place in flight when it ends, however it ends.
struct Done<K: Clone + Eq + Hash + Send + 'static, T: Send + 'static, R: Send + 'static> {
    coalescer: Arc<Coalescer<K, T, R>>,
    key: Option<K>,
}

impl<K: Clone + Eq + Hash + Send + 'static, T: Send + 'static, R: Send + 'static> Drop for Done<K, T, R> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.coalescer.ended(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const LINGER: Duration = Duration::from_millis(50);

    /// Doubles numbers, three at most per request; counts the requests and their sizes.
    fn doubler(sizes: Arc<Mutex<Vec<usize>>>) -> Arc<Coalescer<&'static str, u32, u32>> {
        Coalescer::new(
            3,
            LINGER,
            Box::new(move |_key, items: Vec<u32>| {
                sizes.lock().unwrap().push(items.len());
                Box::pin(async move { items.into_iter().map(|i| i * 2).collect() })
            }),
        )
    }

    /// A caller holding its kind busy until `release`, then `n` followers queued behind it.
    async fn held_with_followers(
        c: &Arc<Coalescer<&'static str, u32, u32>>,
        release: &Arc<Notify>,
        n: u32,
    ) -> Vec<tokio::task::JoinHandle<Result<u32, Lost>>> {
        let (c1, r) = (c.clone(), release.clone());
        tokio::spawn(async move {
            c1.submit("k", 0, |i| async move {
                r.notified().await;
                i
            })
            .await
        });
        while c.busy() == 0 {
            tokio::task::yield_now().await;
        }
        let followers = (1..=n)
            .map(|i| {
                let c = c.clone();
                tokio::spawn(async move { c.submit("k", i, |_| async { panic!("not alone while busy") }).await })
            })
            .collect();
        while c.queued(&"k") < n as usize {
            tokio::task::yield_now().await;
        }
        followers
    }

    #[tokio::test(start_paused = true)]
    async fn alone_at_rest_then_combined_while_busy() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let c = doubler(sizes.clone());
        // At rest: the caller's own request, nothing combined, nothing waits.
        let started = tokio::time::Instant::now();
        assert_eq!(c.submit("k", 1, |i| async move { i + 100 }).await.unwrap(), 101);
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(c.busy(), 0);
        tokio::time::advance(LINGER * 2).await;

        // While a first caller keeps the kind busy, five more go in requests of at most three,
        // each answered with its own value; another kind is not held up.
        let release = Arc::new(Notify::new());
        let followers = held_with_followers(&c, &release, 2).await;
        let mut more: Vec<_> = (3..=5)
            .map(|i| {
                let c = c.clone();
                tokio::spawn(async move { c.submit("k", i, |_| async { panic!("not alone while busy") }).await })
            })
            .collect();
        assert_eq!(c.submit("other", 7, |i| async move { i }).await.unwrap(), 7);
        let mut all = followers;
        all.append(&mut more);
        for (i, f) in (1..=5).zip(all) {
            assert_eq!(f.await.unwrap().unwrap(), i * 2);
        }
        assert_eq!(*sizes.lock().unwrap(), vec![3, 2], "a full request at once, the rest once no more come");
        release.notify_one();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while c.busy() > 0 {
            assert!(std::time::Instant::now() < deadline, "the kinds come to rest");
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_caller_frees_its_place() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let c = doubler(sizes.clone());
        let first = {
            let c = c.clone();
            tokio::spawn(async move { c.submit("k", 0, |_| std::future::pending::<u32>()).await })
        };
        while c.busy() == 0 {
            tokio::task::yield_now().await;
        }
        let follower = {
            let c = c.clone();
            tokio::spawn(async move { c.submit("k", 4, |i| async move { i }).await })
        };
        while c.queued(&"k") < 1 {
            tokio::task::yield_now().await;
        }
        first.abort();
        assert_eq!(follower.await.unwrap().unwrap(), 8);
        assert_eq!(*sizes.lock().unwrap(), vec![1]);
        while c.busy() > 0 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn under_load_a_combined_request_waits_for_more_and_goes_once_full() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let c = doubler(sizes.clone());
        let release = Arc::new(Notify::new());
        let mut followers = held_with_followers(&c, &release, 2).await;
        // Two were queued; a third arrives while they linger and fills the request.
        let c3 = c.clone();
        followers.push(tokio::spawn(async move { c3.submit("k", 3, |i| async move { i }).await }));
        let started = tokio::time::Instant::now();
        for (i, f) in (1..=3).zip(followers) {
            assert_eq!(f.await.unwrap().unwrap(), i * 2);
        }
        assert_eq!(*sizes.lock().unwrap(), vec![3], "one combined request of three");
        assert!(started.elapsed() < LINGER, "a full request does not wait out the linger");
        release.notify_one();
        while c.busy() > 0 {
            tokio::task::yield_now().await;
        }

        // Not full: it goes once no more callers have come for a fifth of the linger. (Once the
        // kind has been idle longer than the linger, a first caller goes alone again.)
        tokio::time::advance(LINGER * 2).await;
        let mut followers = held_with_followers(&c, &release, 1).await;
        let started = tokio::time::Instant::now();
        assert_eq!(followers.remove(0).await.unwrap().unwrap(), 2);
        assert_eq!(started.elapsed(), LINGER / 5);
        assert_eq!(*sizes.lock().unwrap(), vec![3, 1]);
        release.notify_one();
        while c.busy() > 0 {
            tokio::task::yield_now().await;
        }

        // Right after a request ended, a first caller is taken as load: it lingers for company
        // instead of going alone.
        let answer = c.submit("k", 7, |_| async { panic!("not alone under load") }).await.unwrap();
        assert_eq!(answer, 14);
        assert_eq!(*sizes.lock().unwrap(), vec![3, 1, 1]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_few_requests_of_a_kind_fly_at_once_and_the_rest_wait_for_a_place() {
        // Requests that never end: at most IN_FLIGHT of them, the next one waits for a place.
        let sent = Arc::new(AtomicUsize::new(0));
        let c: Arc<Coalescer<&'static str, u32, u32>> = {
            let sent = sent.clone();
            Coalescer::new(
                1,
                LINGER,
                Box::new(move |_key, _items| {
                    sent.fetch_add(1, Ordering::SeqCst);
                    Box::pin(std::future::pending())
                }),
            )
        };
        let release = Arc::new(Notify::new());
        let _held = held_with_followers(&c, &release, 0).await;
        for i in 1..=IN_FLIGHT as u32 + 1 {
            let c = c.clone();
            tokio::spawn(async move { c.submit("k", i, |i| async move { i }).await });
        }
        tokio::time::sleep(LINGER * 4).await;
        assert_eq!(sent.load(Ordering::SeqCst), IN_FLIGHT - 1, "with the held caller, IN_FLIGHT in flight");
        assert_eq!(c.queued(&"k"), 2);
        // The held caller's request ends: one more goes.
        release.notify_one();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while sent.load(Ordering::SeqCst) < IN_FLIGHT {
            assert!(std::time::Instant::now() < deadline, "a freed place is taken");
            tokio::task::yield_now().await;
        }
        assert_eq!(c.queued(&"k"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn callers_that_keep_coming_wait_at_most_the_linger() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let c: Arc<Coalescer<&'static str, u32, u32>> = {
            let sizes = sizes.clone();
            Coalescer::new(
                100,
                LINGER,
                Box::new(move |_key, items: Vec<u32>| {
                    sizes.lock().unwrap().push(items.len());
                    Box::pin(async move { items })
                }),
            )
        };
        let release = Arc::new(Notify::new());
        let _held = held_with_followers(&c, &release, 0).await;
        // One caller every tenth of the linger, for longer than the linger: never a quiet fifth,
        // so the first request goes at the linger's end with the callers that came by then.
        let mut callers = Vec::new();
        for i in 1..=15 {
            let c = c.clone();
            callers.push(tokio::spawn(async move {
                let asked = tokio::time::Instant::now();
                (c.submit("k", i, |i| async move { i }).await.unwrap(), asked.elapsed())
            }));
            tokio::time::sleep(LINGER / 10).await;
        }
        let (answer, waited) = callers.remove(0).await.unwrap();
        assert_eq!((answer, waited), (1, LINGER), "the first caller waited the whole linger, no more");
        let first = sizes.lock().unwrap()[0];
        assert!((10..=11).contains(&first), "the callers of the linger went together: {first}");
    }
}
