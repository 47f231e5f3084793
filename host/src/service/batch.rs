//! Group commit: writes of one kind that arrive together share one transaction.
//!
//! Each booking costs two durable writes (its delivery, its completion). One transaction per
//! write means one disk flush and one copy of every touched page per booking; a [`Batcher`]
//! takes whatever has queued up while the previous transaction ran (up to a maximum) and
//! stores it in one, so under load the flushes are shared and at rest nothing waits. Each
//! caller still gets its own result, after its transaction committed.
//!
//! When the database refuses a shared transaction, each of its items is stored again on its
//! own, so one bad item (a value the database refuses) fails only its own caller, not everyone
//! who happened to arrive with it. A failure that is not about the items (the database is
//! unreachable) fails the whole batch at once, without a retry per item.

use std::future::Future;
use tokio::sync::{mpsc, oneshot};

type Reply<R> = oneshot::Sender<Result<R, String>>;

/// Why a batch was not stored.
#[derive(Clone, Debug)]
pub struct BatchError {
    /// The reason, given to every caller whose item it concerns.
    pub message: String,
    /// The database refused something in the batch: one of its items may be to blame, so each
    /// is tried on its own.
    pub refused: bool,
}

/// Queues items of one kind and stores them in batches.
pub struct Batcher<T, R> {
    queue: mpsc::UnboundedSender<(T, Reply<R>)>,
}

impl<T, R> std::fmt::Debug for Batcher<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batcher")
    }
}

impl<T: Clone + Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Starts the batching task: `run` stores a batch and returns one result per item, in
    /// order, or one error for all (after which, if the database refused the batch, the items
    /// are tried one by one).
    pub fn start<F, Fut>(max: usize, run: F) -> Batcher<T, R>
    where
        F: Fn(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<R>, BatchError>> + Send,
    {
        let (queue, mut rx) = mpsc::unbounded_channel::<(T, Reply<R>)>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut items = vec![first];
                while items.len() < max {
                    match rx.try_recv() {
                        Ok(item) => items.push(item),
                        Err(_) => break,
                    }
                }
                let (batch, replies): (Vec<T>, Vec<Reply<R>>) = items.into_iter().unzip();
                let alone = (batch.len() > 1).then(|| batch.clone());
                match (run(batch).await, alone) {
                    (Ok(results), _) => {
                        for (reply, result) in replies.into_iter().zip(results) {
                            let _ = reply.send(Ok(result));
                        }
                    }
                    (Err(e), Some(items)) if e.refused => {
                        tracing::warn!(
                            "a batch of {} writes was refused ({}); storing them one by one",
                            items.len(),
                            e.message
                        );
                        for (item, reply) in items.into_iter().zip(replies) {
                            let result = run(vec![item])
                                .await
                                .map_err(|e| e.message)
                                .and_then(|mut r| r.pop().ok_or_else(String::new));
                            let _ = reply.send(result);
                        }
                    }
                    (Err(e), _) => {
                        for reply in replies {
                            let _ = reply.send(Err(e.message.clone()));
                        }
                    }
                }
            }
        });
        Batcher { queue }
    }

    /// Stores one item (with whatever else is queued) and returns its result.
    pub async fn submit(&self, item: T) -> Result<R, String> {
        let (reply, result) = oneshot::channel();
        self.queue.send((item, reply)).map_err(|_| "the service is shutting down".to_owned())?;
        result.await.map_err(|_| "the service is shutting down".to_owned())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Submits items 0..n at once and returns each one's result, in order.
    async fn submit_all<R: Send + 'static>(batcher: Batcher<u32, R>, n: u32) -> Vec<Result<R, String>> {
        let batcher = Arc::new(batcher);
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move { b.submit(i).await })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        results
    }

    type Seen = Arc<Mutex<Vec<Vec<u32>>>>;

    /// A batcher (of at most 8) that records the batches it is given and answers each with
    /// `outcome`; the first batch waits a moment, so that everything submitted meanwhile queues
    /// up behind it.
    fn recording(
        outcome: impl Fn(&[u32]) -> Result<Vec<u32>, BatchError> + Send + Sync + 'static,
    ) -> (Seen, Batcher<u32, u32>) {
        let seen: Seen = Arc::default();
        let log = seen.clone();
        let outcome = Arc::new(outcome);
        let batcher = Batcher::start(8, move |items: Vec<u32>| {
            let first = {
                let mut log = log.lock().unwrap();
                log.push(items.clone());
                log.len() == 1
            };
            let outcome = outcome.clone();
            async move {
                if first {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                outcome(&items)
            }
        });
        (seen, batcher)
    }

    #[tokio::test]
    async fn concurrent_items_share_batches_and_each_gets_its_own_result() {
        let (seen, batcher) = recording(|items| Ok(items.iter().map(|i| i * 10).collect()));
        let results = submit_all(batcher, 32).await;
        for (i, result) in results.into_iter().enumerate() {
            assert_eq!(result.unwrap(), i as u32 * 10);
        }
        let batches = seen.lock().unwrap().clone();
        assert!(batches.iter().all(|b| b.len() <= 8), "at most 8 per batch: {batches:?}");
        assert!(batches.len() < 32 && batches.iter().any(|b| b.len() > 1), "items shared batches: {batches:?}");
    }

    #[tokio::test]
    async fn one_refused_item_fails_alone_not_its_whole_batch() {
        // Item 13 makes any transaction holding it fail, as a value the database refuses would.
        let refuse_13 = |items: &[u32]| {
            if items.contains(&13) {
                Err(BatchError { message: "refused: 13".into(), refused: true })
            } else {
                Ok(items.to_vec())
            }
        };
        let (seen, batcher) = recording(refuse_13);
        let results = submit_all(batcher, 32).await;
        for (i, result) in results.into_iter().enumerate() {
            if i == 13 {
                assert_eq!(result.unwrap_err(), "refused: 13");
            } else {
                assert_eq!(result.unwrap(), i as u32, "item {i} shares a batch with the bad one and still succeeds");
            }
        }
        let batches = seen.lock().unwrap().clone();
        assert!(
            batches.iter().any(|b| b.len() > 1 && b.contains(&13)),
            "13 arrived in a shared batch, which was then split: {batches:?}"
        );
        assert!(batches.contains(&vec![13]), "13 was tried alone: {batches:?}");
    }

    #[tokio::test]
    async fn a_failure_of_the_database_itself_fails_the_batch_once() {
        let down = |_: &[u32]| Err(BatchError { message: "pool timed out".into(), refused: false });
        let (seen, batcher) = recording(down);
        let results = submit_all(batcher, 32).await;
        assert!(results.iter().all(|r| r.as_ref().unwrap_err() == "pool timed out"));
        let batches = seen.lock().unwrap().clone();
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 32, "no item was tried twice: {batches:?}");
        assert!(batches.len() < 32, "items shared batches: {batches:?}");
    }
}
