//! Times as inspectors read them: the register is in Shanghai, so pages, messages and the
//! offline answer give China Standard Time whatever the zone of the machine showing them.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// `2026-11-25 14:03`: `t` in China Standard Time (UTC+8, no daylight saving), to the minute.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let t = Utc.with_ymd_and_hms(2026, 11, 25, 6, 3, 59).unwrap();
/// assert_eq!(zizhi_shared::time::beijing_minute(t), "2026-11-25 14:03");
/// ```
pub fn beijing_minute(t: DateTime<Utc>) -> String {
    in_beijing(t).format("%Y-%m-%d %H:%M").to_string()
}

/// The date in Beijing at `t`: the day usage periods, validity and "today" are counted in,
/// on every surface (verdict, register, pages, chat, portal), whatever the machine's zone.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let t = Utc.with_ymd_and_hms(2026, 11, 30, 16, 30, 0).unwrap();
/// assert_eq!(zizhi_shared::time::beijing_date(t).to_string(), "2026-12-01");
/// ```
pub fn beijing_date(t: DateTime<Utc>) -> NaiveDate {
    in_beijing(t).date_naive()
}

/// `t` in China Standard Time, for other formats (the certificate's 2026年11月25日 13:02, a
/// PDF date).
pub fn in_beijing(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_time_is_eight_hours_ahead_of_utc() {
        let t = DateTime::parse_from_rfc3339("2026-03-01T18:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(beijing_minute(t), "2026-03-02 02:30");
    }
}
