//! The sandbox's hard limits and the error that names the one that was hit.
//!
//! Every limit has a safe default; a tenant's settings may change them. When a limit is hit the
//! invocation stops with a [`LimitExceeded`] naming the limit and its value, and nothing is
//! committed.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Which limit was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// Linear memory of the plugin, in bytes.
    Memory,
    /// Guest execution time, in milliseconds (epoch ticks while guest code runs).
    Cpu,
    /// Fuel (instructions, roughly), when fuel metering is on.
    Fuel,
    /// Wall-clock time of the whole invocation including host calls, in milliseconds.
    WallClock,
    /// The guest's call stack, in bytes.
    Stack,
    /// Records staged in one invocation (one Composite request holds 25).
    StagedRecords,
    /// Host calls in one invocation.
    HostCalls,
    /// Bytes of log messages in one invocation.
    LogBytes,
    /// Bytes of the booking JSON.
    BookingSize,
    /// Bytes of the component.
    ComponentSize,
    /// Salesforce round trips in one invocation: `find`s, and describes the cache cannot answer.
    SalesforceCalls,
    /// Bytes of one `find` or `describe` answer handed to the plugin.
    ResultBytes,
    /// Fields one `find` asks for: at most the fields the object shows the plugin (its `max` is
    /// that object's count).
    FindFields,
}

impl Limit {
    /// The configuration key and display name of the limit.
    pub fn name(self) -> &'static str {
        match self {
            Limit::Memory => "memory_bytes",
            Limit::Cpu => "cpu_ms",
            Limit::Fuel => "fuel",
            Limit::WallClock => "wall_clock_ms",
            Limit::Stack => "stack_bytes",
            Limit::StagedRecords => "staged_records",
            Limit::HostCalls => "host_calls",
            Limit::LogBytes => "log_bytes",
            Limit::BookingSize => "booking_bytes",
            Limit::ComponentSize => "component_bytes",
            Limit::SalesforceCalls => "salesforce_calls",
            Limit::ResultBytes => "result_bytes",
            Limit::FindFields => "find_fields",
        }
    }
}

/// A limit was hit: the invocation stopped and nothing was committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct LimitExceeded {
    /// The limit.
    pub limit: Limit,
    /// Its configured value.
    pub max: u64,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "limit exceeded: {} (max {})", self.limit.name(), self.max)
    }
}

/// The limits of one invocation. Defaults are safe for a shared host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Linear memory cap per plugin instance.
    pub memory_bytes: u64,
    /// Guest execution budget.
    pub cpu_ms: u64,
    /// Fuel budget; `None` turns fuel metering off (epoch-only CPU limit).
    pub fuel: Option<u64>,
    /// Wall-clock deadline of the invocation, host calls included.
    pub wall_clock_ms: u64,
    /// Staged records per invocation.
    pub staged_records: u32,
    /// Host calls per invocation.
    pub host_calls: u32,
    /// Log bytes per invocation (stderr capture included).
    pub log_bytes: u64,
    /// Booking JSON size.
    pub booking_bytes: u64,
    /// Component size.
    pub component_bytes: u64,
    /// Salesforce round trips per invocation (each `find`, and each `describe` that misses the
    /// host's cache): one booking must not spend the org's shared daily API allowance.
    pub salesforce_calls: u32,
    /// Bytes of one `find` or `describe` answer (estimated as the text it carries), checked
    /// before the host builds the answer for the plugin.
    pub result_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            cpu_ms: 500,
            fuel: None,
            wall_clock_ms: 10_000,
            staged_records: 25,
            host_calls: 1_000,
            log_bytes: 64 << 10,
            booking_bytes: 256 << 10,
            // A Python plugin is about 18.5 MB (the interpreter and its standard library), a
            // TypeScript one about 12.5 MB (the JavaScript engine); room for their own code.
            component_bytes: 32 << 20,
            salesforce_calls: 10,
            result_bytes: 1 << 20,
        }
    }
}

impl Limits {
    /// The wall-clock deadline as a duration.
    pub fn wall_clock(&self) -> Duration {
        Duration::from_millis(self.wall_clock_ms)
    }

    /// The error for hitting `limit` under these settings.
    pub fn exceeded(&self, limit: Limit) -> LimitExceeded {
        let max = match limit {
            Limit::Memory => self.memory_bytes,
            Limit::Cpu => self.cpu_ms,
            Limit::Fuel => self.fuel.unwrap_or(0),
            Limit::WallClock => self.wall_clock_ms,
            Limit::Stack => 0,
            Limit::StagedRecords => u64::from(self.staged_records),
            Limit::HostCalls => u64::from(self.host_calls),
            Limit::LogBytes => self.log_bytes,
            Limit::BookingSize => self.booking_bytes,
            Limit::ComponentSize => self.component_bytes,
            Limit::SalesforceCalls => u64::from(self.salesforce_calls),
            Limit::ResultBytes => self.result_bytes,
            Limit::FindFields => 0,
        };
        LimitExceeded { limit, max }
    }
}
