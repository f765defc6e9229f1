//! Dates, times and ages as the app shows them: `2026-01-31`, `2026-01-31 14:03` (the app
//! passes Beijing time, see `web::platform::local_offset`), and "3 分钟前".
//!
//! The zone is passed in (`web::platform::local_offset`), so everything here is a plain
//! function that tests can pin.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// An offset from UTC in minutes, east positive (Beijing: 480). Note that the browser's
/// `Date.getTimezoneOffset()` has the opposite sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalOffset(pub i32);

impl LocalOffset {
    pub const BEIJING: LocalOffset = LocalOffset(8 * 60);

    fn fixed(self) -> FixedOffset {
        // An offset outside ±24 h cannot come from a real clock; UTC is the honest fallback.
        FixedOffset::east_opt(self.0 * 60)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("0 is valid"))
    }
}

/// `2026-01-31`
pub fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// `2026-01-31 14:03`, local time of the device.
pub fn time(t: DateTime<Utc>, offset: LocalOffset) -> String {
    t.with_timezone(&offset.fixed())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// How long ago `then` was: 刚刚, 3 分钟前, 2 小时前, 5 天前. A `then` in the future (a clock
/// set back) reads as 刚刚 rather than a negative age.
pub fn age(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    if secs < 60 {
        "刚刚".to_owned()
    } else if secs < 3600 {
        format!("{} 分钟前", secs / 60)
    } else if secs < 86_400 {
        format!("{} 小时前", secs / 3600)
    } else {
        format!("{} 天前", secs / 86_400)
    }
}

/// `更新于 2026-11-25 14:03（3 分钟前）`
pub fn updated(then: DateTime<Utc>, now: DateTime<Utc>, offset: LocalOffset) -> String {
    format!("更新于 {}（{}）", time(then, offset), age(then, now))
}

/// `状态截至 2026-11-25 14:03`
pub fn status_as_of(as_of: DateTime<Utc>, offset: LocalOffset) -> String {
    format!("状态截至 {}", time(as_of, offset))
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, h, m, s).unwrap()
    }

    #[test]
    fn times_are_shown_in_the_device_zone_to_the_minute() {
        assert_eq!(time(t(6, 3, 59), LocalOffset::BEIJING), "2026-11-25 14:03");
        assert_eq!(time(t(6, 3, 0), LocalOffset(0)), "2026-11-25 06:03");
        // West of UTC the local date is the day before.
        assert_eq!(time(t(2, 0, 0), LocalOffset(-5 * 60)), "2026-11-24 21:00");
    }

    #[test]
    fn late_utc_evening_is_the_next_day_in_beijing() {
        assert_eq!(time(t(23, 30, 0), LocalOffset::BEIJING), "2026-11-26 07:30");
    }

    #[test]
    fn an_impossible_offset_falls_back_to_utc() {
        assert_eq!(time(t(6, 3, 0), LocalOffset(100 * 60)), "2026-11-25 06:03");
    }

    #[test]
    fn dates_have_zero_padded_months_and_days() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        assert_eq!(date(d), "2026-01-05");
    }

    #[test]
    fn ages_round_down_to_the_largest_whole_unit() {
        let now = t(12, 0, 0);
        assert_eq!(age(now - Duration::seconds(59), now), "刚刚");
        assert_eq!(age(now - Duration::seconds(60), now), "1 分钟前");
        assert_eq!(age(now - Duration::minutes(59), now), "59 分钟前");
        assert_eq!(age(now - Duration::minutes(61), now), "1 小时前");
        assert_eq!(age(now - Duration::hours(49), now), "2 天前");
        assert_eq!(age(now + Duration::minutes(5), now), "刚刚");
    }

    #[test]
    fn the_updated_line_has_time_and_age() {
        let now = t(6, 6, 0);
        assert_eq!(
            updated(t(6, 3, 0), now, LocalOffset::BEIJING),
            "更新于 2026-11-25 14:03（3 分钟前）"
        );
        assert_eq!(
            status_as_of(t(6, 3, 0), LocalOffset::BEIJING),
            "状态截至 2026-11-25 14:03"
        );
    }
}
