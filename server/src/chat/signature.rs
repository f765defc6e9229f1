//! Request signatures of the official-account platform: hex SHA-1 over the sorted,
//! concatenated values (token, timestamp, nonce — and the `Encrypt` field in safe mode).

use chrono::{DateTime, Utc};
use sha1::{Digest, Sha1};

/// How far a request's timestamp may lie from our clock before it counts as a replay.
pub const MAX_AGE_SECS: i64 = 5 * 60;

/// `sha1(sort([parts…]).concat())` in lower-case hex, as the platform computes it.
pub fn sign(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let mut h = Sha1::new();
    for p in sorted {
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Compares a received signature with the expected one in constant time, so timing does not
/// tell an attacker how many leading characters were right.
pub fn matches(expected: &str, received: &str) -> bool {
    use subtle::ConstantTimeEq;
    let received = received.trim().to_ascii_lowercase();
    expected.as_bytes().ct_eq(received.as_bytes()).into()
}

/// Why a timestamp was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleTimestamp {
    NotANumber,
    TooOld,
    InTheFuture,
}

/// The platform stamps each delivery (retries keep the original stamp), so anything older than
/// [`MAX_AGE_SECS`] is a replay of a captured request; the same margin covers clock skew ahead.
pub fn check_fresh(timestamp: &str, now: DateTime<Utc>) -> Result<i64, StaleTimestamp> {
    let t: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| StaleTimestamp::NotANumber)?;
    let age = now.timestamp() - t;
    if age > MAX_AGE_SECS {
        Err(StaleTimestamp::TooOld)
    } else if age < -MAX_AGE_SECS {
        Err(StaleTimestamp::InTheFuture)
    } else {
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn signature_sorts_the_parts_before_hashing() {
        // Sorted byte-wise: "1409304348" < "test" < "xxxxxxxxxx".
        let expected = {
            let mut h = Sha1::new();
            h.update(b"1409304348testxxxxxxxxxx");
            hex::encode(h.finalize())
        };
        assert_eq!(sign(&["test", "1409304348", "xxxxxxxxxx"]), expected);
        assert_eq!(sign(&["xxxxxxxxxx", "test", "1409304348"]), expected);
    }

    #[test]
    fn matches_accepts_upper_case_and_refuses_any_other_difference() {
        let s = sign(&["a", "b", "c"]);
        assert!(matches(&s, &s));
        assert!(matches(&s, &s.to_ascii_uppercase()));
        assert!(!matches(&s, &s[1..]));
        let mut wrong = s.clone().into_bytes();
        wrong[39] = if wrong[39] == b'0' { b'1' } else { b'0' };
        assert!(!matches(&s, std::str::from_utf8(&wrong).unwrap()));
        assert!(!matches(&s, ""));
    }

    #[test]
    fn timestamps_older_than_five_minutes_or_as_far_ahead_are_refused() {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        let t = now.timestamp();
        assert_eq!(check_fresh(&t.to_string(), now), Ok(t));
        assert_eq!(check_fresh(&(t - 300).to_string(), now), Ok(t - 300));
        assert_eq!(
            check_fresh(&(t - 301).to_string(), now),
            Err(StaleTimestamp::TooOld)
        );
        assert_eq!(
            check_fresh(&(t + 301).to_string(), now),
            Err(StaleTimestamp::InTheFuture)
        );
        assert_eq!(check_fresh("abc", now), Err(StaleTimestamp::NotANumber));
        assert_eq!(check_fresh("", now), Err(StaleTimestamp::NotANumber));
    }
}
