//! Why a run did not commit, and what happens next: retry with backoff, fail, or wait for a
//! person because a commit's outcome is unknown.
//!
//! The class comes from where the failure is understood: the Salesforce client classes its own
//! errors ([`FailureClass`]) and the session records the org's last failure during a run, so a
//! plugin that wraps an outage in `other` is still retried, and an expired refresh token is not
//! retried eight times because the plugin passed the error on as `unavailable`.

use crate::runtime::InvokeError;
use crate::salesforce::SalesforceError;
use crate::store::Next;
use portico_model::crm::FailureClass;
use std::time::Duration;

/// Why a run did not commit.
#[derive(Debug)]
pub struct RunFailure {
    /// What retrying may achieve.
    pub class: FailureClass,
    /// A short class for metrics (`trap`, `cpu_ms`, `mapping`, `salesforce`, `connection` …).
    pub kind: &'static str,
    /// The reason, shown to the tenant.
    pub message: String,
    /// A commit that creates records was sent and no answer came: retrying could duplicate
    /// them, so the job waits for the tenant admin ([`crate::store::JobState::Unknown`]).
    pub outcome_unknown: bool,
}

impl RunFailure {
    /// A failure retrying cannot mend.
    pub fn permanent(kind: &'static str, message: impl Into<String>) -> RunFailure {
        RunFailure { class: FailureClass::Permanent, kind, message: message.into(), outcome_unknown: false }
    }

    /// A fault of this service (the database, a task) that may pass.
    pub fn internal(message: impl Into<String>) -> RunFailure {
        RunFailure { class: FailureClass::Transient, kind: "internal", message: message.into(), outcome_unknown: false }
    }

    /// What happens to the job after its `attempts`-th run failed like this, and the message to
    /// keep with it.
    pub fn next(&self, attempts: i32, max_attempts: i32, base_ms: u64, max_ms: u64, now_ms: i64) -> (Next, String) {
        if self.outcome_unknown {
            let message = format!(
                "outcome unknown: {}. The records it creates may or may not be in the org: check for this booking's \
                 records there, then replay the job (if they are missing) or mark it done (if they are there)",
                self.message
            );
            return (Next::Unknown, message);
        }
        let min_delay = match self.class {
            FailureClass::RetryAfter(seconds) => Duration::from_secs(seconds),
            _ => Duration::ZERO,
        };
        match self.class {
            FailureClass::Transient | FailureClass::RetryAfter(_) if attempts < max_attempts => {
                let delay = backoff(attempts, base_ms, max_ms).max(min_delay);
                (Next::Retry(now_ms + delay.as_millis() as i64), self.message.clone())
            }
            FailureClass::Transient | FailureClass::RetryAfter(_) => {
                (Next::Fail, format!("{} (gave up after {attempts} attempts)", self.message))
            }
            FailureClass::ReconnectNeeded => (
                Next::Fail,
                format!("{} — a tenant admin must reconnect Salesforce, then replay the job", self.message),
            ),
            FailureClass::Permanent => (Next::Fail, self.message.clone()),
        }
    }
}

/// The delay before retry `attempt` (1-based): base·2^(attempt-1), capped, with ±50 % jitter.
pub fn backoff(attempt: i32, base_ms: u64, max_ms: u64) -> Duration {
    let exp = base_ms.saturating_mul(1u64 << (attempt.clamp(1, 30) - 1) as u32).min(max_ms);
    let r = u16::from_le_bytes(super::super::random_bytes::<2>()) as u64;
    let jittered = exp / 2 + exp * r / u16::MAX as u64;
    Duration::from_millis(jittered.min(max_ms).max(1))
}

/// A run that produced no unit. When the org failed during the run, its class decides —
/// whatever the plugin made of the error it was handed.
pub(super) fn invoke_failure(e: InvokeError, crm_failure: Option<(FailureClass, String)>) -> RunFailure {
    let kind = e.kind();
    let mut message = format!("plugin: {e}");
    let class = match (&e, crm_failure) {
        // The wall clock runs out mostly while the org is slow to answer: that passes. Any
        // other limit stops the same way next time.
        (InvokeError::Limit(l), _) if l.limit == portico_model::Limit::WallClock => FailureClass::Transient,
        (InvokeError::Limit(_), _) => FailureClass::Permanent,
        (_, Some((class, cause))) => {
            if !message.contains(&cause) {
                message = format!("{message} (Salesforce: {cause})");
            }
            class
        }
        (InvokeError::Internal(_), None) => FailureClass::Transient,
        (_, None) => FailureClass::Permanent,
    };
    RunFailure { class, kind, message, outcome_unknown: false }
}

/// A commit that failed. A unit that creates records and got no answer is of unknown outcome:
/// an upsert-only unit may simply be sent again.
pub(super) fn commit_failure(e: SalesforceError, creates: bool) -> RunFailure {
    let outcome_unknown = creates && matches!(e, SalesforceError::OutcomeUnknown(_));
    RunFailure { class: e.class(), kind: "salesforce", message: format!("Salesforce: {e}"), outcome_unknown }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_model::{ErrorKind, HostError, MappingError};

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        for attempt in 1..=6 {
            let d = backoff(attempt, 1_000, 20_000).as_millis() as u64;
            let exp = (1_000u64 << (attempt - 1)).min(20_000);
            assert!(d >= exp / 2 && d <= exp.max(1) * 3 / 2 && d <= 20_000, "attempt {attempt}: {d} ms");
        }
        assert!(backoff(40, 1_000, 60_000) <= Duration::from_secs(60));
    }

    fn unavailable() -> InvokeError {
        InvokeError::Mapping(MappingError::Host(HostError::object(ErrorKind::Unavailable, "Lead", "down")))
    }

    #[test]
    fn the_org_failure_class_decides_not_the_plugin_error() {
        // An expired refresh token passed on by the plugin as `unavailable`: not retried.
        let f = invoke_failure(unavailable(), Some((FailureClass::ReconnectNeeded, "invalid_grant".into())));
        assert_eq!(f.class, FailureClass::ReconnectNeeded);
        let (next, message) = f.next(1, 8, 1_000, 60_000, 0);
        assert_eq!(next, Next::Fail);
        assert!(message.contains("reconnect Salesforce"), "{message}");
        // An outage the plugin wrapped in `other`: retried.
        let wrapped = InvokeError::Mapping(MappingError::Other("lookup failed".into()));
        let f = invoke_failure(wrapped, Some((FailureClass::Transient, "503".into())));
        assert!(matches!(f.next(1, 8, 1_000, 60_000, 0).0, Next::Retry(_)));
        // `unavailable` with no org failure behind it is the plugin's own word: not retried.
        assert_eq!(invoke_failure(unavailable(), None).class, FailureClass::Permanent);
        // A slow org runs the wall clock out: retried.
        let slow =
            InvokeError::Limit(portico_model::LimitExceeded { limit: portico_model::Limit::WallClock, max: 10_000 });
        assert_eq!(invoke_failure(slow, None).class, FailureClass::Transient);
        let cpu = InvokeError::Limit(portico_model::LimitExceeded { limit: portico_model::Limit::Cpu, max: 500 });
        assert_eq!(invoke_failure(cpu, None).class, FailureClass::Permanent);
        // The org's request limit waits at least its time.
        let f = invoke_failure(unavailable(), Some((FailureClass::RetryAfter(300), "REQUEST_LIMIT_EXCEEDED".into())));
        assert!(matches!(f.next(1, 8, 1_000, 60_000, 0).0, Next::Retry(at) if at >= 300_000));
    }

    #[test]
    fn a_commit_without_an_answer_waits_for_a_person_only_when_it_creates_records() {
        let lost = || SalesforceError::OutcomeUnknown("connection reset".into());
        let (next, message) = commit_failure(lost(), true).next(1, 8, 1_000, 60_000, 0);
        assert_eq!(next, Next::Unknown);
        assert!(message.contains("mark it done"), "{message}");
        assert!(matches!(commit_failure(lost(), false).next(1, 8, 1_000, 60_000, 0).0, Next::Retry(_)));
        let refused = SalesforceError::Network("connection refused".into());
        assert!(matches!(commit_failure(refused, true).next(1, 8, 1_000, 60_000, 0).0, Next::Retry(_)));
    }
}
