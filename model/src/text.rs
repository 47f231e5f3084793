//! Bounds on text that a guest controls and the host keeps or echoes.
//!
//! A plugin decides what its error messages, log lines and staged values say, so anything the
//! host stores (job errors, logs) or repeats back (validation messages quoting a value) is cut
//! to a documented size first, with a marker saying how much was dropped.

use std::borrow::Cow;

/// The most bytes of an error message kept with a job (the plugin's `mapping-error`, a trap's
/// stderr excerpt, a Salesforce error): 4 KiB.
pub const MAX_ERROR_BYTES: usize = 4 << 10;

/// The most bytes of one log line kept (the whole invocation's logs are also bounded by the
/// `log_bytes` limit): 4 KiB.
pub const MAX_LOG_LINE_BYTES: usize = 4 << 10;

/// The most bytes of a plugin's stdout and stderr kept with a job (what it wrote is also
/// counted against the `log_bytes` limit): 16 KiB.
pub const MAX_STDERR_BYTES: usize = 16 << 10;

/// The most bytes of a staged or searched value quoted back in a validation message.
pub const MAX_ECHO_BYTES: usize = 120;

/// `text` cut to at most `max` bytes (on a character boundary) plus a marker naming how many
/// bytes were dropped; unchanged when it fits.
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}… [truncated: {} more bytes]", &text[..end], text.len() - end))
}

/// Like [`clip`], in place.
pub fn clip_owned(text: &mut String, max: usize) {
    if let Cow::Owned(clipped) = clip(text, max) {
        *text = clipped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_whole() {
        assert!(matches!(clip("hello", 5), Cow::Borrowed("hello")));
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary_with_a_marker() {
        let text = "é".repeat(10); // 20 bytes
        let clipped = clip(&text, 5);
        assert_eq!(clipped, "éé… [truncated: 16 more bytes]");
        let mut owned = "x".repeat(10_000);
        clip_owned(&mut owned, MAX_ERROR_BYTES);
        assert!(owned.len() < MAX_ERROR_BYTES + 40, "{}", owned.len());
        assert!(owned.ends_with("[truncated: 5904 more bytes]"), "{}", &owned[owned.len() - 40..]);
    }
}
