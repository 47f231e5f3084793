//! Requests of one org that arrive together share one round trip.
//!
//! The first caller of a kind sends its own request at once, so nothing waits at rest. Callers
//! of the same kind that arrive while it is in flight queue up; when it returns, everything
//! queued (up to a maximum) goes out as one combined request, and so on until the queue is
//! empty. Each caller gets its own answer. Under a backlog this turns N requests into about
//! N / (arrivals per round trip) without adding a fixed delay to any of them.
//!
//! Under load, a combined request may also wait up to `linger` for more callers (it goes as
//! soon as it is full): a bounded delay, paid only by requests that were queued anyway, that
//! lets one round trip serve more of them. At rest nothing waits.
//!
//! Combined requests run on their own task: a caller that gives up (its invocation was
//! stopped) cancels only its own wait, never a request others depend on. A caller whose own
//! request is cancelled still hands the turn on.

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

/// The combined request ended without an answer for this caller (its task panicked).
#[derive(Debug)]
pub(super) struct Lost;

/// Queues requests per kind `K` while one of that kind is in flight.
pub(super) struct Coalescer<K, T, R> {
    /// A kind present here has a request in flight; its vector is what waits for the next one.
    slots: Mutex<HashMap<K, Waiting<T, R>>>,
    /// The most items one combined request takes.
    max: usize,
    /// How long a combined request waits for more callers before it goes.
    linger: Duration,
    /// Told when a queue fills up (a lingering request then goes at once).
    full: Notify,
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
    /// limits require) and returns one answer per item, in order.
    /// A combined request waits up to `linger` for more callers.
    pub(super) fn new(max: usize, linger: Duration, many: Box<Many<K, T, R>>) -> Arc<Self> {
        let max = max.max(1);
        Arc::new(Coalescer { slots: Mutex::new(HashMap::new()), max, linger, full: Notify::new(), many })
    }

    /// Answers `item`: with `alone(item)` when nothing of its kind is in flight, else in the
    /// next combined request.
    pub(super) async fn submit<F>(self: &Arc<Self>, key: K, item: T, alone: impl FnOnce(T) -> F) -> Result<R, Lost>
    where
        F: Future<Output = R>,
    {
        let waiting = {
            let mut slots = self.slots.lock().expect("coalescer lock");
            match slots.get_mut(&key) {
                Some(queue) => {
                    let (tx, rx) = oneshot::channel();
                    queue.push((item, tx));
                    if queue.len() >= self.max {
                        self.full.notify_waiters();
                    }
                    Err(rx)
                }
                None => {
                    slots.insert(key.clone(), Vec::new());
                    Ok(item)
                }
            }
        };
        match waiting {
            Ok(item) => {
                let _turn = Turn { coalescer: self.clone(), key: Some(key) };
                Ok(alone(item).await)
            }
            Err(rx) => rx.await.map_err(|_| Lost),
        }
    }

    /// Hands the turn on: sends what queued up meanwhile (after lingering for more), or marks
    /// the kind idle.
    fn next(self: &Arc<Self>, key: K) {
        {
            let mut slots = self.slots.lock().expect("coalescer lock");
            let Some(queue) = slots.get_mut(&key) else { return };
            if queue.is_empty() {
                slots.remove(&key);
                return;
            }
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to send on (shutting down): the waiting callers see `Lost`.
            self.slots.lock().expect("coalescer lock").remove(&key);
            return;
        };
        let this = self.clone();
        runtime.spawn(async move {
            let _turn = Turn { coalescer: this.clone(), key: Some(key.clone()) };
            if !this.linger.is_zero() {
                let deadline = tokio::time::Instant::now() + this.linger;
                loop {
                    // Listening before looking: a queue filling up in between is not missed.
                    let full = this.full.notified();
                    tokio::pin!(full);
                    full.as_mut().enable();
                    let queued = this.slots.lock().expect("coalescer lock").get(&key).map_or(0, Vec::len);
                    if queued >= this.max || tokio::time::timeout_at(deadline, full).await.is_err() {
                        break;
                    }
                }
            }
            let batch: Waiting<T, R> = {
                let mut slots = this.slots.lock().expect("coalescer lock");
                let queue = slots.get_mut(&key).expect("a kind with its turn taken stays busy");
                let n = queue.len().min(this.max);
                queue.drain(..n).collect()
            };
            let (items, replies): (Vec<T>, Vec<oneshot::Sender<R>>) = batch.into_iter().unzip();
            let answers = (this.many)(key, items).await;
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        });
    }

    /// Kinds with a request in flight (for tests and metrics).
    #[cfg(test)]
    fn busy(&self) -> usize {
        self.slots.lock().expect("coalescer lock").len()
    }
}

/// Hands the turn on when the request in flight ends, however it ends.
struct Turn<K: Clone + Eq + Hash + Send + 'static, T: Send + 'static, R: Send + 'static> {
    coalescer: Arc<Coalescer<K, T, R>>,
    key: Option<K>,
}

impl<K: Clone + Eq + Hash + Send + 'static, T: Send + 'static, R: Send + 'static> Drop for Turn<K, T, R> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.coalescer.next(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;

    /// Doubles numbers; counts the combined requests and their sizes.
    fn doubler(sizes: Arc<Mutex<Vec<usize>>>) -> Arc<Coalescer<&'static str, u32, u32>> {
        lingering(sizes, Duration::ZERO)
    }

    fn lingering(sizes: Arc<Mutex<Vec<usize>>>, linger: Duration) -> Arc<Coalescer<&'static str, u32, u32>> {
        Coalescer::new(
            3,
            linger,
            Box::new(move |_key, items: Vec<u32>| {
                sizes.lock().unwrap().push(items.len());
                Box::pin(async move { items.into_iter().map(|i| i * 2).collect() })
            }),
        )
    }

    #[tokio::test]
    async fn alone_at_rest_then_combined_while_busy() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let c = doubler(sizes.clone());
        // At rest: the caller's own request, nothing combined.
        assert_eq!(c.submit("k", 1, |i| async move { i + 100 }).await.unwrap(), 101);
        assert_eq!(c.busy(), 0);

        // A first caller holds the turn while five more arrive: they go in combined requests of
        // at most three, each answered with its own value.
        let release = Arc::new(Notify::new());
        let first = {
            let (c, release) = (c.clone(), release.clone());
            tokio::spawn(async move {
                c.submit("k", 0, |i| async move {
                    release.notified().await;
                    i + 100
                })
                .await
            })
        };
        while c.busy() == 0 {
            tokio::task::yield_now().await;
        }
        let alone_calls = Arc::new(AtomicUsize::new(0));
        let followers: Vec<_> = (1..=5)
            .map(|i| {
                let (c, alone_calls) = (c.clone(), alone_calls.clone());
                tokio::spawn(async move {
                    c.submit("k", i, |i| {
                        alone_calls.fetch_add(1, Ordering::SeqCst);
                        async move { i }
                    })
                    .await
                })
            })
            .collect();
        // Another kind is not held up by this one.
        assert_eq!(c.submit("other", 7, |i| async move { i }).await.unwrap(), 7);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while c.slots.lock().unwrap().get("k").map_or(0, Vec::len) < 5 {
            assert!(std::time::Instant::now() < deadline, "followers queue up");
            tokio::task::yield_now().await;
        }
        release.notify_one();
        assert_eq!(first.await.unwrap().unwrap(), 100);
        for (i, f) in (1..=5).zip(followers) {
            assert_eq!(f.await.unwrap().unwrap(), i * 2);
        }
        assert_eq!(alone_calls.load(Ordering::SeqCst), 0);
        assert_eq!(*sizes.lock().unwrap(), vec![3, 2]);
        assert_eq!(c.busy(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_caller_hands_the_turn_on() {
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
        while c.slots.lock().unwrap().get("k").map_or(0, Vec::len) < 1 {
            tokio::task::yield_now().await;
        }
        first.abort();
        assert_eq!(follower.await.unwrap().unwrap(), 8);
        assert_eq!(*sizes.lock().unwrap(), vec![1]);
    }

    /// A caller holding the turn until `release`, then `n` followers queued behind it.
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
                tokio::spawn(async move { c.submit("k", i, |i| async move { i }).await })
            })
            .collect();
        while c.slots.lock().unwrap().get("k").map_or(0, Vec::len) < n as usize {
            tokio::task::yield_now().await;
        }
        followers
    }

    #[tokio::test(start_paused = true)]
    async fn under_load_a_combined_request_waits_for_more_and_goes_once_full() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let c = lingering(sizes.clone(), Duration::from_millis(50));
        let release = Arc::new(Notify::new());
        let mut followers = held_with_followers(&c, &release, 2).await;
        release.notify_one();
        // Two were queued; a third arrives while they linger and fills the request.
        let c3 = c.clone();
        followers.push(tokio::spawn(async move { c3.submit("k", 3, |i| async move { i }).await }));
        let started = tokio::time::Instant::now();
        for (i, f) in (1..=3).zip(followers) {
            assert_eq!(f.await.unwrap().unwrap(), i * 2);
        }
        assert_eq!(*sizes.lock().unwrap(), vec![3], "one combined request of three");
        assert!(started.elapsed() < Duration::from_millis(50), "a full request does not wait out the linger");

        // Not full: it goes when the linger is over.
        let mut followers = held_with_followers(&c, &release, 1).await;
        release.notify_one();
        let started = tokio::time::Instant::now();
        assert_eq!(followers.remove(0).await.unwrap().unwrap(), 2);
        assert_eq!(started.elapsed(), Duration::from_millis(50));
        assert_eq!(*sizes.lock().unwrap(), vec![3, 1]);
    }
}
