//! The app's shared state (one [`AppState`] in context) and the two long actions: a check
//! (offline, then online) and a sync (trust list, then status snapshot).

use chrono::{DateTime, Utc};
use dioxus::core::spawn_forever;
use dioxus::prelude::*;
use zizhi_shared::TrustList;

use super::fonts;
use super::platform::{self, store};
use crate::check::{Offline, OnlineFailure, Shown, decide};
use crate::history::{Entry, History};
use crate::status::{SNAPSHOT_PATH, SnapshotStep, StoredStatus, accept_snapshot, snapshot_request};
use crate::sync::{PinState, RootPin, Settings, StoredTrustList, SyncError, accept_trust_list};

pub const K_PIN: &str = "zizhi.pin";
pub const K_TRUST: &str = "zizhi.trust-list";
pub const K_STATUS: &str = "zizhi.status";
pub const K_SETTINGS: &str = "zizhi.settings";
pub const K_HISTORY: &str = "zizhi.history";

/// How long a check of a genuine signature waits for the server before the offline answer is
/// shown (marked as pending): long enough that a reachable server's answer comes first, so the
/// inspector does not see the verdict change. The server's answer still replaces it when it
/// comes, within [`VERIFY_TIMEOUT_MS`]. A failed signature is shown at once.
const GRACE_MS: i32 = 1200;
const VERIFY_TIMEOUT_MS: i32 = 4000;
const SYNC_TIMEOUT_MS: i32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Scan,
    Result,
    History,
    Settings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultState {
    Empty,
    Checking,
    Shown { shown: Shown, pending: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncState {
    Idle,
    Running,
    Done(DateTime<Utc>),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    pub list: TrustList,
    pub synced_at: DateTime<Utc>,
}

#[derive(Clone, Copy)]
pub struct AppState {
    pub tab: Signal<Tab>,
    pub result: Signal<ResultState>,
    pub pin: Signal<PinState>,
    pub trust: Signal<Option<Trust>>,
    pub status: Signal<Option<StoredStatus>>,
    pub settings: Signal<Settings>,
    pub history: Signal<History>,
    pub sync: Signal<SyncState>,
    /// Bumped by every check, so a slow answer to an earlier scan is dropped.
    check_gen: Signal<u64>,
}

impl AppState {
    /// Everything the device kept, and the root key pinned (on first start, from the page).
    pub fn load() -> AppState {
        let page = RootPin::from_meta(
            platform::meta("zizhi-root-key").as_deref(),
            platform::meta("zizhi-root-kid").as_deref(),
        );
        let pin = PinState::decide(store::get_json(K_PIN), page);
        if let PinState::New(p) = &pin {
            store::set_json(K_PIN, p);
        }
        fonts::load_kept();
        let trust = match (pin.pin(), store::get_json::<StoredTrustList>(K_TRUST)) {
            (Some(p), Some(stored)) => stored.open(p).ok().map(|list| Trust {
                list,
                synced_at: stored.synced_at,
            }),
            _ => None,
        };
        AppState {
            tab: Signal::new(Tab::Scan),
            result: Signal::new(ResultState::Empty),
            pin: Signal::new(pin),
            trust: Signal::new(trust),
            status: Signal::new(store::get_json(K_STATUS)),
            settings: Signal::new(store::get_json(K_SETTINGS).unwrap_or_default()),
            history: Signal::new(History::from_json(store::get(K_HISTORY).as_deref())),
            sync: Signal::new(SyncState::Idle),
            check_gen: Signal::new(0),
        }
    }

    pub fn base_url(&self) -> String {
        self.settings.read().base(&platform::origin())
    }

    /// Verifies a scanned text and shows the answer on 结果.
    pub fn check(mut self, text: String) {
        let generation = *self.check_gen.peek() + 1;
        self.check_gen.set(generation);
        self.result.set(ResultState::Checking);
        self.tab.set(Tab::Result);
        spawn_forever(async move {
            let (now, offset) = (platform::now(), platform::local_offset());
            let offline = {
                let trust = self.trust.peek();
                let status = self.status.peek();
                Offline::check(
                    &text,
                    trust.as_ref().map(|t| &t.list),
                    status.as_ref().map(|s| &s.cache),
                    now,
                    offset,
                )
            };
            if let Some(view) = offline.provisional().cloned() {
                let mut show = move || {
                    if *self.check_gen.peek() == generation
                        && *self.result.peek() == ResultState::Checking
                    {
                        self.fonts_for(&view);
                        self.result.set(ResultState::Shown {
                            shown: Shown::View(Box::new(view.clone())),
                            pending: true,
                        });
                    }
                };
                if offline.is_rejection() {
                    show();
                } else {
                    spawn_forever(async move {
                        platform::sleep(GRACE_MS).await;
                        show();
                    });
                }
            }
            let url = format!("{}/api/v1/verify", self.base_url());
            let online = platform::fetch_text(&url, Some(&text), VERIFY_TIMEOUT_MS)
                .await
                .map_err(|e| match e {
                    platform::FetchError::Network(why) => OnlineFailure::Network(why),
                    platform::FetchError::Status(code, body) => OnlineFailure::Status(code, body),
                });
            if *self.check_gen.peek() != generation {
                return;
            }
            // A key the device does not know may be a new one its trust list predates: sync
            // (the list must be signed by the pinned root) and check again. Only a check that
            // then passes lets the server's answer count.
            let offline = if matches!(
                offline,
                Offline::Rejected {
                    unknown_key: true,
                    ..
                }
            ) {
                self.sync_now().await;
                if *self.check_gen.peek() != generation {
                    return;
                }
                let trust = self.trust.peek();
                let status = self.status.peek();
                Offline::check(
                    &text,
                    trust.as_ref().map(|t| &t.list),
                    status.as_ref().map(|s| &s.cache),
                    platform::now(),
                    offset,
                )
            } else {
                offline
            };
            let shown = decide(&text, offline, Some(online), offset);
            self.finish(generation, shown);
        });
    }

    fn finish(mut self, generation: u64, shown: Shown) {
        if *self.check_gen.peek() != generation {
            return;
        }
        if let Shown::View(v) = &shown {
            self.fonts_for(v);
            let mut history = self.history.write();
            history.record(Entry {
                at: platform::now(),
                text: v.text.clone(),
                enterprise_name: v.enterprise_name.clone(),
                certificate_number: v.certificate_number.clone(),
                level: v.level,
                source: v.source,
                title: v.title.clone(),
            });
            store::set(K_HISTORY, &history.to_json());
        }
        self.result.set(ResultState::Shown {
            shown,
            pending: false,
        });
    }

    /// Web fonts for the view's 生僻字 the page lacks, from the server the app talks to.
    fn fonts_for(&self, view: &crate::view::ResultView) {
        let text = view.shown_text();
        let base = self.base_url();
        spawn_forever(async move {
            if let Err(e) = fonts::ensure(&base, &[&text]).await {
                web_sys::console::warn_1(&e.into());
            }
        });
    }

    /// 立即同步: the trust list, then the status snapshot (a delta when there is a cache).
    pub async fn sync_now(mut self) {
        if *self.sync.peek() == SyncState::Running {
            return;
        }
        self.sync.set(SyncState::Running);
        let outcome = self.sync_inner().await;
        self.sync.set(match outcome {
            Ok(()) => SyncState::Done(platform::now()),
            Err(e) => SyncState::Failed(e),
        });
    }

    async fn sync_inner(&mut self) -> Result<(), String> {
        let pin = self
            .pin
            .peek()
            .pin()
            .cloned()
            .ok_or_else(|| SyncError::NoPin.to_string())?;
        let base = self.base_url();
        let json = get(&format!("{base}/.well-known/zizhi/trust-list"))
            .await
            .map_err(|e| format!("信任列表：{e}"))?;
        let held = self.trust.peek().as_ref().map(|t| t.list.clone());
        let (list, stored) = accept_trust_list(&json, &pin, held.as_ref(), platform::now())
            .map_err(|e| format!("信任列表：{e}"))?;
        store::set_json(K_TRUST, &stored);
        self.trust.set(Some(Trust {
            list: list.clone(),
            synced_at: stored.synced_at,
        }));

        let cache = self.status.peek().as_ref().map(|s| s.cache.clone());
        let trust = list;
        let snapshot = async {
            let json = get(&format!("{base}{}", snapshot_request(cache.as_ref()))).await?;
            match accept_snapshot(&json, &trust, cache.as_ref())? {
                SnapshotStep::Applied(c) => Ok(c),
                SnapshotStep::FetchFull(_) => {
                    // Applied to the same cache: a full snapshot older than it is refused.
                    let json = get(&format!("{base}{SNAPSHOT_PATH}")).await?;
                    match accept_snapshot(&json, &trust, cache.as_ref())? {
                        SnapshotStep::Applied(c) => Ok(c),
                        SnapshotStep::FetchFull(why) => Err(SyncError::Snapshot(why)),
                    }
                }
            }
        }
        .await
        .map_err(|e: SyncError| format!("信任列表已更新，状态快照：{e}"))?;
        let stored = StoredStatus {
            cache: snapshot,
            synced_at: platform::now(),
        };
        store::set_json(K_STATUS, &stored);
        self.status.set(Some(stored));
        // The fonts of the register's 生僻字, for offline verdicts; the sync stands without.
        if let Err(e) = fonts::ensure_register(&base).await {
            web_sys::console::warn_1(&e.into());
        }
        Ok(())
    }

    /// Forgets everything the device kept, pin included (the next start pins the page's key).
    pub fn reset(mut self) {
        for k in [
            K_PIN,
            K_TRUST,
            K_STATUS,
            K_SETTINGS,
            K_HISTORY,
            fonts::K_FONTS,
        ] {
            store::remove(k);
        }
        self.trust.set(None);
        self.status.set(None);
        self.settings.set(Settings::default());
        self.history.set(History::default());
        self.result.set(ResultState::Empty);
        self.sync.set(SyncState::Idle);
        let page = RootPin::from_meta(
            platform::meta("zizhi-root-key").as_deref(),
            platform::meta("zizhi-root-kid").as_deref(),
        );
        let pin = PinState::decide(None, page);
        if let PinState::New(p) = &pin {
            store::set_json(K_PIN, p);
        }
        self.pin.set(pin);
    }

    pub fn save_settings(mut self, settings: Settings) {
        store::set_json(K_SETTINGS, &settings);
        self.settings.set(settings);
    }

    pub fn clear_history(mut self) {
        self.history.write().clear();
        store::remove(K_HISTORY);
    }
}

async fn get(url: &str) -> Result<String, SyncError> {
    platform::fetch_text(url, None, SYNC_TIMEOUT_MS)
        .await
        .map_err(|e| match e {
            platform::FetchError::Network(why) => SyncError::Network(why),
            platform::FetchError::Status(code, _) => SyncError::Http(code),
        })
}
