//! Salesforce record ids: 15 case-sensitive characters plus the 3-character checksum suffix
//! that makes the 18-character form case-insensitive.

const SUFFIX_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The 18-character form of a 15-character id.
pub fn to_18(id15: &str) -> String {
    let mut out = String::with_capacity(18);
    out.push_str(id15);
    for chunk in id15.as_bytes().chunks(5) {
        let bits =
            chunk.iter().enumerate().fold(0usize, |acc, (i, c)| acc | (usize::from(c.is_ascii_uppercase()) << i));
        out.push(SUFFIX_ALPHABET[bits] as char);
    }
    out
}

/// A new 18-character id: the object's key prefix, a pod marker and a base-62 serial.
pub fn new_id(key_prefix: &str, serial: u64) -> String {
    let mut digits = [b'0'; 9];
    let mut n = serial;
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    let id15 = format!("{key_prefix}Em0{}", std::str::from_utf8(&digits).expect("ascii"));
    to_18(&id15)
}

/// The 15-character form of a 15- or 18-character id (ids compare on this).
pub fn to_15(id: &str) -> &str {
    &id[..id.len().min(15)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_salesforce_checksums() {
        // A documented example pair: 001A0000006Vm9r -> 001A0000006Vm9rIAC.
        assert_eq!(to_18("001A0000006Vm9r"), "001A0000006Vm9rIAC");
        let id = new_id("00Q", 61);
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("00QEm0") && id[..15].ends_with('z'));
    }
}
