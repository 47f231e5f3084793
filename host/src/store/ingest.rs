//! Deliveries in: nonces, booking aliases and jobs, stored together (group insert).

use super::jobs::{Delivery, Enqueued, Ingested, value_rows};
use super::{Store, StoreError, on_pool, on_read_pool};
use std::collections::{HashMap, HashSet};

impl Store {
    /// Stores a job, once per (tenant, booking id, kind).
    pub async fn enqueue(
        &self,
        tenant: &str,
        booking_id: &str,
        kind: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<Enqueued, StoreError> {
        let delivery = Delivery {
            tenant: tenant.to_owned(),
            nonce: None,
            booking_id: booking_id.to_owned(),
            alias: None,
            kind: kind.to_owned(),
            payload: payload.to_owned(),
        };
        match self.ingest_many(std::slice::from_ref(&delivery), now_ms).await?.pop() {
            Some(Ingested::Job(enqueued)) => Ok(enqueued),
            _ => unreachable!("a delivery without a nonce is always stored"),
        }
    }

    /// Stores a signed delivery: records its nonce (until it expires) and enqueues the job in
    /// one transaction, so a reused nonce stores nothing.
    pub async fn ingest(
        &self,
        tenant: &str,
        nonce: Option<(&str, i64)>,
        booking_id: &str,
        kind: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<Ingested, StoreError> {
        let delivery = Delivery {
            tenant: tenant.to_owned(),
            nonce: nonce.map(|(n, e)| (n.to_owned(), e)),
            booking_id: booking_id.to_owned(),
            alias: None,
            kind: kind.to_owned(),
            payload: payload.to_owned(),
        };
        Ok(self.ingest_many(std::slice::from_ref(&delivery), now_ms).await?.remove(0))
    }

    /// Stores several deliveries in one transaction (group commit: one disk flush for all),
    /// each as [`Store::ingest`] would; the results are in order.
    pub async fn ingest_many(&self, deliveries: &[Delivery], now_ms: i64) -> Result<Vec<Ingested>, StoreError> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        // A statement per step for the whole batch: nonces, aliases, jobs, and the ids of jobs
        // stored before. Within a batch the first use of a nonce or a job key wins, as it
        // would one delivery at a time.
        let results = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut with_nonce: Vec<(&str, &str, i64)> = deliveries
                .iter()
                .filter_map(|d| d.nonce.as_ref().map(|(n, expires)| (d.tenant.as_str(), n.as_str(), *expires)))
                .collect();
            // In key order, so that two replicas inserting the same nonces cannot deadlock.
            with_nonce.sort_unstable();
            let mut unused: HashSet<(String, String)> = HashSet::new();
            if !with_nonce.is_empty() {
                let sql = format!(
                    "INSERT INTO nonces (tenant_id, nonce, expires_at) VALUES {} \
                     ON CONFLICT (tenant_id, nonce) DO NOTHING RETURNING tenant_id, nonce",
                    value_rows(with_nonce.len(), 3, 0)
                );
                let mut query = sqlx::query_as(&sql);
                for (tenant, nonce, expires) in &with_nonce {
                    query = query.bind(*tenant).bind(*nonce).bind(*expires);
                }
                unused = query.fetch_all(&mut *tx).await?.into_iter().collect();
            }
            let is_fresh: Vec<bool> = deliveries
                .iter()
                .map(|d| match &d.nonce {
                    Some((nonce, _)) => unused.remove(&(d.tenant.clone(), nonce.clone())),
                    None => true,
                })
                .collect();
            let fresh: Vec<&Delivery> = deliveries.iter().zip(&is_fresh).filter(|(_, f)| **f).map(|(d, _)| d).collect();
            let aliases: Vec<&Delivery> = fresh.iter().copied().filter(|d| d.alias.is_some()).collect();
            if !aliases.is_empty() {
                let sql = format!(
                    "INSERT INTO booking_aliases (tenant_id, alias, booking_id, created_at) VALUES {} \
                     ON CONFLICT (tenant_id, alias) DO NOTHING",
                    value_rows(aliases.len(), 4, 0)
                );
                let mut query = sqlx::query(&sql);
                for d in &aliases {
                    query = query.bind(&d.tenant).bind(&d.alias).bind(&d.booking_id).bind(now_ms);
                }
                query.execute(&mut *tx).await?;
            }
            type Key = (String, String, String);
            let key = |d: &Delivery| (d.tenant.clone(), d.booking_id.clone(), d.kind.clone());
            // Every fresh delivery's job id, and the keys this batch created (the first delivery
            // of a key reports the creation, a later one in the batch finds it stored).
            let mut ids: HashMap<Key, i64> = HashMap::new();
            let mut created: HashSet<Key> = HashSet::new();
            if !fresh.is_empty() {
                // Inserted in arrival order (ids are given in the order rows are inserted), so
                // one booking's deliveries keep their order.
                let sql = format!(
                    "INSERT INTO jobs (tenant_id, booking_id, kind, payload, state, run_after, created_at, updated_at) \
                     SELECT v.column1, v.column2, v.column3, v.column4, 'pending', $1, $1, $1 FROM (VALUES {}) AS v \
                     WHERE true ORDER BY v.column5 ON CONFLICT (tenant_id, booking_id, kind) DO NOTHING \
                     RETURNING id, tenant_id, booking_id, kind",
                    value_rows(fresh.len(), 5, 1)
                );
                let mut query = sqlx::query_as(&sql).bind(now_ms);
                for (arrival, d) in fresh.iter().enumerate() {
                    query =
                        query.bind(&d.tenant).bind(&d.booking_id).bind(&d.kind).bind(&d.payload).bind(arrival as i64);
                }
                let rows: Vec<(i64, String, String, String)> = query.fetch_all(&mut *tx).await?;
                for (id, t, b, k) in rows {
                    created.insert((t.clone(), b.clone(), k.clone()));
                    ids.insert((t, b, k), id);
                }
                let before: Vec<&Delivery> = fresh.iter().copied().filter(|d| !ids.contains_key(&key(d))).collect();
                if !before.is_empty() {
                    let sql = format!(
                        "SELECT j.id, j.tenant_id, j.booking_id, j.kind FROM jobs j JOIN (VALUES {}) AS v \
                         ON j.tenant_id = v.column1 AND j.booking_id = v.column2 AND j.kind = v.column3",
                        value_rows(before.len(), 3, 0)
                    );
                    let mut query = sqlx::query_as(&sql);
                    for d in &before {
                        query = query.bind(&d.tenant).bind(&d.booking_id).bind(&d.kind);
                    }
                    let rows: Vec<(i64, String, String, String)> = query.fetch_all(&mut *tx).await?;
                    ids.extend(rows.into_iter().map(|(id, t, b, k)| ((t, b, k), id)));
                }
            }
            let mut results = Vec::with_capacity(deliveries.len());
            for (d, fresh) in deliveries.iter().zip(is_fresh) {
                if !fresh {
                    results.push(Ingested::NonceReused);
                    continue;
                }
                let k = key(d);
                let id = ids.get(&k).copied().ok_or(sqlx::Error::RowNotFound)?;
                results.push(Ingested::Job(Enqueued { id, created: created.remove(&k) }));
            }
            tx.commit().await?;
            results
        });
        Ok(results)
    }

    /// The first id of the meeting a platform now calls `id`, if `id` is a later one (stored
    /// with a delivery's [`Delivery::alias`]).
    pub async fn booking_alias(&self, tenant: &str, id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = on_read_pool!(self, |pool| {
            sqlx::query_as("SELECT booking_id FROM booking_aliases WHERE tenant_id = $1 AND alias = $2")
                .bind(tenant)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(id,)| id))
    }
}
