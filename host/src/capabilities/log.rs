//! `log`: messages kept with the job, bounded by the log limit.

use super::limited;
use crate::bindings::log;
use crate::runtime::Sandbox;
use portico_model::session::LogLevel;

impl log::Host for Sandbox {
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        };
        limited(self.session.log(level, message))
    }
}
