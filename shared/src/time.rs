//! Times as inspectors read them: the register is in Shanghai, so pages, messages and the
//! offline answer give China Standard Time whatever the zone of the machine showing them.

use chrono::{DateTime, FixedOffset, Utc};

/// `2026-11-25 14:03`: `t` in China Standard Time (UTC+8, no daylight saving), to the minute.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let t = Utc.with_ymd_and_hms(2026, 11, 25, 6, 3, 59).unwrap();
/// assert_eq!(zizhi_shared::time::beijing_minute(t), "2026-11-25 14:03");
/// ```
pub fn beijing_minute(t: DateTime<Utc>) -> String {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    t.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string()
}
