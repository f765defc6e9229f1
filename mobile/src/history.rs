//! 记录: the scans kept on the device, newest first, at most [`MAX_ENTRIES`].
//!
//! An entry keeps the scanned text itself so that tapping it verifies the code again (the
//! status may have changed since); the other fields are what the list shows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::verdict::Level;

use crate::view::Source;

/// Older scans fall off the end; 200 is months of an inspector's work and a few tens of KB
/// of localStorage.
pub const MAX_ENTRIES: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    /// The QR text as scanned, to verify again.
    pub text: String,
    /// Empty when the signature did not verify (nothing the code says is shown as fact).
    pub enterprise_name: String,
    pub certificate_number: String,
    pub level: Level,
    pub source: Source,
    /// 真实有效 / 注意 / 无效或已失效
    pub title: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Newest first.
    pub entries: Vec<Entry>,
}

impl History {
    /// Records a scan. Scanning the same code again right away (a camera that sees it on
    /// consecutive frames, a re-verify from the list) replaces the newest entry instead of
    /// stacking duplicates.
    pub fn record(&mut self, entry: Entry) {
        if self.entries.first().is_some_and(|e| e.text == entry.text) {
            self.entries.remove(0);
        }
        self.entries.insert(0, entry);
        self.entries.truncate(MAX_ENTRIES);
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// From stored JSON; anything unreadable (an older format, a damaged store) is an empty
    /// history rather than a broken app.
    pub fn from_json(json: Option<&str>) -> History {
        json.and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("history serialises")
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn entry(n: usize) -> Entry {
        Entry {
            at: Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap() + Duration::minutes(n as i64),
            text: format!("HTTPS://ZZ.EXAMPLE.CN/V/CODE{n}"),
            enterprise_name: format!("企业{n}"),
            certificate_number: "D231000037".into(),
            level: Level::Valid,
            source: Source::Live,
            title: "真实有效".into(),
        }
    }

    #[test]
    fn newest_scan_comes_first() {
        let mut h = History::default();
        h.record(entry(1));
        h.record(entry(2));
        assert_eq!(h.entries[0].enterprise_name, "企业2");
        assert_eq!(h.entries[1].enterprise_name, "企业1");
    }

    #[test]
    fn history_keeps_at_most_200_and_drops_the_oldest() {
        let mut h = History::default();
        for n in 0..(MAX_ENTRIES + 5) {
            h.record(entry(n));
        }
        assert_eq!(h.entries.len(), MAX_ENTRIES);
        assert_eq!(
            h.entries[0].enterprise_name,
            format!("企业{}", MAX_ENTRIES + 4)
        );
        assert_eq!(h.entries.last().unwrap().enterprise_name, "企业5");
    }

    #[test]
    fn rescanning_the_newest_code_replaces_it() {
        let mut h = History::default();
        h.record(entry(1));
        let mut again = entry(1);
        again.level = Level::Invalid;
        h.record(again);
        assert_eq!(h.entries.len(), 1);
        assert_eq!(h.entries[0].level, Level::Invalid);
        // An older duplicate is kept: it is a separate scan at another time.
        h.record(entry(2));
        h.record(entry(1));
        assert_eq!(h.entries.len(), 3);
    }

    #[test]
    fn history_round_trips_through_json_and_survives_garbage() {
        let mut h = History::default();
        h.record(entry(1));
        assert_eq!(History::from_json(Some(&h.to_json())), h);
        assert_eq!(History::from_json(Some("{not json")), History::default());
        assert_eq!(History::from_json(None), History::default());
    }

    #[test]
    fn clearing_empties_the_list() {
        let mut h = History::default();
        h.record(entry(1));
        h.clear();
        assert!(h.entries.is_empty());
    }
}
