//! Group commit: writes of one kind that arrive together share one transaction.
//!
//! Each booking costs two durable writes (its delivery, its completion). One transaction per
//! write means one disk flush and one copy of every touched page per booking; a [`Batcher`]
//! takes whatever has queued up while the previous transaction ran (up to a maximum) and
//! stores it in one, so under load the flushes are shared and at rest nothing waits. Each
//! caller still gets its own result, after its transaction committed.
//!
//! When a shared transaction fails, each of its items is stored again on its own, so one bad
//! item (a value the database refuses) fails only its own caller, not everyone who happened
//! to arrive with it.

use std::future::Future;
use tokio::sync::{mpsc, oneshot};

type Reply<R> = oneshot::Sender<Result<R, String>>;

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
    /// order (or one error for all, after which the items are retried one by one).
    pub fn start<F, Fut>(max: usize, run: F) -> Batcher<T, R>
    where
        F: Fn(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<R>, String>> + Send,
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
                    (Err(e), None) => {
                        for reply in replies {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                    (Err(e), Some(items)) => {
                        tracing::warn!("a batch of {} writes failed ({e}); storing them one by one", items.len());
                        for (item, reply) in items.into_iter().zip(replies) {
                            let result = run(vec![item]).await.and_then(|mut r| r.pop().ok_or_else(String::new));
                            let _ = reply.send(result);
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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_items_share_batches_and_each_gets_its_own_result() {
        let batches = Arc::new(AtomicUsize::new(0));
        let counted = batches.clone();
        let batcher = Arc::new(Batcher::start(8, move |items: Vec<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::task::yield_now().await;
                Ok(items.into_iter().map(|i| i * 10).collect())
            }
        }));
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move { b.submit(i).await })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap().unwrap(), i as u32 * 10);
        }
        let n = batches.load(Ordering::SeqCst);
        assert!((4..32).contains(&n), "32 items in {n} batches of at most 8");
        let failing = Batcher::start(8, |_: Vec<u32>| async { Err::<Vec<u32>, _>("disk full".to_owned()) });
        assert_eq!(failing.submit(1).await.unwrap_err(), "disk full");
    }

    #[tokio::test]
    async fn one_bad_item_fails_alone_not_its_whole_batch() {
        // Item 13 makes any transaction holding it fail, as a value the database refuses would.
        let batcher = Arc::new(Batcher::start(8, |items: Vec<u32>| async move {
            tokio::task::yield_now().await;
            if items.contains(&13) { Err("refused: 13".to_owned()) } else { Ok(items) }
        }));
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move { b.submit(i).await })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            let result = t.await.unwrap();
            if i == 13 {
                assert_eq!(result.unwrap_err(), "refused: 13");
            } else {
                assert_eq!(result.unwrap(), i as u32, "item {i} shares a batch with the bad one and still succeeds");
            }
        }
    }
}
