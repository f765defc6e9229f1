//! The server's online keys (在线密钥) and the trust list (信任列表) that vouches for them.
//!
//! Keys by role:
//! - The **root key** (根密钥) signs trust lists and nothing else. Its private half is not on
//!   the server: an operator keeps it offline and signs each trust list ahead of time with
//!   `zizhi trust sign`, valid until a stated date. A server holds only its public half
//!   (`<data_dir>/trust/root.json`), which the app pins.
//! - **Copy-signing keys** (证书件签发密钥) sign the QR payloads of certificate copies.
//! - A **snapshot-signing key** (状态快照签名密钥) signs status snapshots.
//!
//! Online keys live as one JSON file each under `<data_dir>/keys/` (mode 0600). A key signs
//! only while the installed trust list names it, with its role and public key, in a window
//! covering the date: the copy-signing key for a copy is chosen by the copy's issue date, so
//! a rotation prepared ahead (new key listed from a future date, old key's window closing on
//! that date or later) takes effect on every instance on that date without a restart or a
//! lock-step, and copies signed on the switch day verify under either list.
//!
//! A new trust list is installed by `zizhi trust install` (or by copying the file in);
//! [`KeyRing::reload`], run every [`RELOAD_EVERY`], picks it up, refusing one that is older
//! than the one in force or not signed by the root.
//!
//! First start on an empty data directory (the demo, a newcomer) generates everything,
//! root included, and writes the root's private half to `<data_dir>/offline-root/` with a
//! warning to move it off the server; nothing on the serving path ever reads it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use arc_swap::ArcSwap;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::DecompressedTrustList;
use zizhi_shared::trust::KeyRole;

use crate::private_files::{create_private_dir, ensure_private};
use zizhi_shared::{
    Claims, IssuerKey, KeyId, QrText, SignedStatusSnapshot, SignedTrustList, StatusSnapshot,
    TrustList, TrustedKey,
};

/// How often every instance looks for a newly installed trust list.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// How long a trust list generated on first start stays in force.
const FIRST_LIST_VALIDITY: chrono::Duration = chrono::Duration::days(365);

/// An online key's file: the secret seed and what the key is for. Its window is the trust
/// list's business.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnlineKeyFile {
    kid: String,
    role: KeyRole,
    /// Ed25519 seed, hex.
    seed: String,
}

/// The root key's file, for the offline machine (`zizhi trust sign --root`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootKeyFile {
    kid: String,
    /// Ed25519 seed, hex.
    seed: String,
}

impl RootKeyFile {
    pub fn read(path: &Path) -> anyhow::Result<IssuerKey> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read root key {}", path.display()))?;
        let file: RootKeyFile = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a root key file", path.display()))?;
        key_from(&file.kid, &file.seed)
    }
}

/// The root's public half as a server keeps it: what the app pins and trust lists open with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootPublicKey {
    pub kid: KeyId,
    /// Ed25519 public key, hex.
    pub public_key: String,
}

impl RootPublicKey {
    pub fn of(root: &IssuerKey) -> RootPublicKey {
        RootPublicKey {
            kid: root.kid(),
            public_key: hex::encode(root.public_key_bytes()),
        }
    }

    pub fn bytes(&self) -> anyhow::Result<[u8; 32]> {
        hex::decode(&self.public_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .context("root public key must be 32 bytes of hex")
    }

    fn verifying_key(&self) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
        ed25519_dalek_key(&self.bytes()?)
    }
}

/// A new online key's public half, carried to the offline machine to be listed
/// (`zizhi keys new` writes it, `zizhi trust sign --add` reads it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    pub kid: KeyId,
    pub role: KeyRole,
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// First date the key may sign (UTC, inclusive).
    pub valid_from: NaiveDate,
    pub issuer: String,
}

fn key_from(kid: &str, seed_hex: &str) -> anyhow::Result<IssuerKey> {
    let kid = KeyId::parse(kid).map_err(|e| anyhow::anyhow!("{e}"))?;
    let seed: [u8; 32] = hex::decode(seed_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("key seed must be 32 bytes of hex")?;
    Ok(IssuerKey::from_seed(kid, seed))
}

fn random_seed() -> anyhow::Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    Ok(seed)
}

/// Writes a secret file readable by its owner only; never replaces an existing one.
fn write_secret(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create key file {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Replaces `path` with `bytes` in one step: a reader sees the old file or the new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f =
            fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    Ok(())
}

fn keys_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys")
}

fn trust_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("trust")
}

fn root_public_path(data_dir: &Path) -> PathBuf {
    trust_dir(data_dir).join("root.json")
}

/// Where the installed trust list lives; `zizhi trust install` writes it.
pub fn trust_list_path(data_dir: &Path) -> PathBuf {
    trust_dir(data_dir).join("trust-list.cose")
}

/// Where first start leaves the root's private half, to be moved off the server.
pub fn offline_root_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("offline-root")
}

fn read_online_keys(dir: &Path) -> anyhow::Result<Vec<(KeyRole, IssuerKey)>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "key") {
            ensure_private(&path)?;
            let text = fs::read_to_string(&path)?;
            let file: OnlineKeyFile = serde_json::from_str(&text).with_context(|| {
                format!(
                    "bad key file {} (a root key does not belong on the server)",
                    path.display()
                )
            })?;
            out.push((file.role, key_from(&file.kid, &file.seed)?));
        }
    }
    Ok(out)
}

/// One state of the keys: the trust list in force and the online keys it names.
pub struct LoadedKeys {
    root: RootPublicKey,
    /// The list in force, its keys decompressed once for the many checks against them.
    trust: DecompressedTrustList,
    signed: SignedTrustList,
    /// Online keys the list names with the same role and public key, with their listing.
    online: Vec<(IssuerKey, TrustedKey)>,
    /// Online keys the list does not name yet (generated ahead of a rotation).
    unlisted: Vec<KeyId>,
}

impl std::fmt::Debug for LoadedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedKeys")
            .field("root", &self.root.kid.to_string())
            .field(
                "online",
                &self
                    .online
                    .iter()
                    .map(|(_, t)| format!("{} ({})", t.kid, t.role))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl LoadedKeys {
    fn read(data_dir: &Path) -> anyhow::Result<LoadedKeys> {
        let root_path = root_public_path(data_dir);
        let root: RootPublicKey = serde_json::from_str(
            &fs::read_to_string(&root_path)
                .with_context(|| format!("no root public key at {}", root_path.display()))?,
        )
        .with_context(|| format!("bad root public key file {}", root_path.display()))?;
        let list_path = trust_list_path(data_dir);
        let signed = SignedTrustList::from_bytes(
            fs::read(&list_path)
                .with_context(|| format!("no trust list at {}", list_path.display()))?,
        );
        Self::assemble(root, signed, read_online_keys(&keys_dir(data_dir))?)
            .with_context(|| list_path.display().to_string())
    }

    /// Opens `signed` with the root and pairs each online key with its listing; a listed kid
    /// whose public key differs is refused (the list was signed for other keys).
    fn assemble(
        root: RootPublicKey,
        signed: SignedTrustList,
        keys: Vec<(KeyRole, IssuerKey)>,
    ) -> anyhow::Result<LoadedKeys> {
        let trust = signed
            .open(&root.verifying_key()?)
            .map_err(|e| anyhow::anyhow!("{e} (not signed by root {})", root.kid))?;
        let mut online = Vec::new();
        let mut unlisted = Vec::new();
        for (role, key) in keys {
            match trust.find_for(&key.kid(), role) {
                Some(listed) if listed.public_key == key.public_key_bytes() => {
                    online.push((key, listed.clone()));
                }
                Some(_) => bail!(
                    "密钥 {} 与信任列表中的公钥不符 key {} differs from its trust-list entry",
                    key.kid(),
                    key.kid()
                ),
                None => unlisted.push(key.kid()),
            }
        }
        Ok(LoadedKeys {
            root,
            trust: DecompressedTrustList::new(trust),
            signed,
            online,
            unlisted,
        })
    }

    /// What a reload compares: the list and the keys it puts to use (a key file the list does
    /// not name changes nothing that signs).
    fn same_as(&self, other: &LoadedKeys) -> bool {
        let kids = |k: &LoadedKeys| k.online.iter().map(|(k, _)| k.kid()).collect::<Vec<_>>();
        self.signed == other.signed && kids(self) == kids(other)
    }

    /// Said once per state taken, not on every reload.
    fn log_state(&self, now: DateTime<Utc>) {
        for kid in &self.unlisted {
            tracing::warn!(%kid, "online key not in the trust list; unused until a list names it");
        }
        if self.trust.list().needs_renewal(now) {
            tracing::warn!(expires_at = %self.trust.list().expires_at, "the trust list expires soon: sign and install a new one");
        }
    }

    pub fn trust_list(&self) -> &TrustList {
        self.trust.list()
    }

    /// [`LoadedKeys::trust_list`] with its keys decompressed, for checking scanned codes.
    pub fn decompressed_trust_list(&self) -> &DecompressedTrustList {
        &self.trust
    }

    pub fn signed_trust_list(&self) -> &SignedTrustList {
        &self.signed
    }

    pub fn root(&self) -> &RootPublicKey {
        &self.root
    }

    /// The online key for `role` on `date`: the one listed most recently (latest
    /// `valid_from`) among those whose window covers the date.
    pub fn signer(&self, role: KeyRole, date: NaiveDate) -> anyhow::Result<&IssuerKey> {
        self.online
            .iter()
            .filter(|(_, t)| t.role == role && t.covers(date))
            .max_by_key(|(k, t)| (t.valid_from, k.kid()))
            .map(|(k, _)| k)
            .with_context(|| {
                format!(
                    "没有 {date} 可用的{}密钥 no {role} key in force on {date}: install a trust list that lists one",
                    role.label()
                )
            })
    }

    /// Signs the claims with the copy-signing key in force on their issue date and gives the
    /// text the QR code holds.
    pub fn qr_text(&self, claims: &Claims, host: &str) -> anyhow::Result<String> {
        let key = self.signer(KeyRole::CopySigning, claims.issued_at.date_naive())?;
        Ok(QrText::encode(host, &claims.sign(key)))
    }

    /// Signs a status snapshot with the snapshot-signing key in force on its issue date.
    pub fn sign_status_snapshot(
        &self,
        snapshot: &StatusSnapshot,
    ) -> anyhow::Result<SignedStatusSnapshot> {
        let key = self.signer(KeyRole::SnapshotSigning, snapshot.issued_at.date_naive())?;
        Ok(snapshot.sign(key))
    }
}

/// The keys a server signs with, reloaded when a new trust list is installed.
pub struct KeyRing {
    data_dir: PathBuf,
    loaded: ArcSwap<LoadedKeys>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("KeyRing").field(&self.loaded.load()).finish()
    }
}

impl KeyRing {
    /// Loads the keys under `data_dir`. An empty data directory gets a root, a copy-signing
    /// and a snapshot-signing key in force from `valid_from`, and a trust list naming them
    /// (first start, or the demo, whose history starts years back).
    pub fn load_or_create(
        data_dir: &Path,
        issuer: &str,
        valid_from: NaiveDate,
        now: DateTime<Utc>,
    ) -> anyhow::Result<KeyRing> {
        if !root_public_path(data_dir).exists() && read_online_keys(&keys_dir(data_dir))?.is_empty()
        {
            create_first_keys(data_dir, issuer, valid_from, now)?;
        }
        Self::load(data_dir)
    }

    pub fn load(data_dir: &Path) -> anyhow::Result<KeyRing> {
        let loaded = LoadedKeys::read(data_dir)?;
        loaded.log_state(Utc::now());
        Ok(KeyRing {
            data_dir: data_dir.to_owned(),
            loaded: ArcSwap::from_pointee(loaded),
        })
    }

    /// The keys in force now; hold the `Arc` for the length of one operation.
    pub fn current(&self) -> Arc<LoadedKeys> {
        self.loaded.load_full()
    }

    /// Reads the files again and takes the new state if its trust list is at least as new as
    /// the one in force. Returns whether anything changed. On any error the keys in force
    /// stay.
    pub fn reload(&self) -> anyhow::Result<bool> {
        let next = LoadedKeys::read(&self.data_dir)?;
        let now = self.loaded.load();
        if next.trust.list().issued_at < now.trust.list().issued_at {
            bail!(
                "信任列表（签发于 {}）早于在用的（{}），不予采用 the installed trust list is older than the one in force",
                next.trust.list().issued_at,
                now.trust.list().issued_at
            );
        }
        let changed = !next.same_as(&now);
        if changed {
            tracing::info!(
                issued_at = %next.trust.list().issued_at,
                expires_at = %next.trust.list().expires_at,
                keys = next.trust.list().keys.len(),
                "trust list reloaded"
            );
            next.log_state(Utc::now());
            self.loaded.store(Arc::new(next));
        }
        Ok(changed)
    }

    /// Reloads every [`RELOAD_EVERY`] until the process ends; failures are logged and the
    /// keys in force stay.
    pub fn spawn_reloader(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let ring = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RELOAD_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = ring.reload() {
                    tracing::warn!(error = %e, "trust list not reloaded; the keys in force stay");
                }
            }
        })
    }

    /// Installs a signed trust list: it must open with this server's root, be newer than the
    /// one in force, and name the online keys' public halves correctly. Running instances
    /// pick it up within [`RELOAD_EVERY`].
    pub fn install(data_dir: &Path, signed: &SignedTrustList) -> anyhow::Result<TrustList> {
        let current = LoadedKeys::read(data_dir)?;
        // Checked in full before the file is touched, so a running instance never reads a
        // list that does not fit.
        let next = LoadedKeys::assemble(
            current.root.clone(),
            signed.clone(),
            read_online_keys(&keys_dir(data_dir))?,
        )
        .context("the new trust list does not fit this server's keys; the old one stays")?;
        if next.trust.list().issued_at <= current.trust.list().issued_at {
            bail!(
                "新信任列表（签发于 {}）不晚于在用的（{}） the new list is not newer than the one in force",
                next.trust.list().issued_at,
                current.trust.list().issued_at
            );
        }
        write_atomically(&trust_list_path(data_dir), signed.as_bytes())?;
        Ok(next.trust.list().clone())
    }

    /// Generates a new online key on this server, not yet listed; returns the request the
    /// offline signer lists it from.
    pub fn new_online_key(
        data_dir: &Path,
        kid: &str,
        role: KeyRole,
        valid_from: NaiveDate,
        issuer: &str,
    ) -> anyhow::Result<KeyRequest> {
        let kid = KeyId::parse(kid).map_err(|e| anyhow::anyhow!("{e}"))?;
        let dir = keys_dir(data_dir);
        if read_online_keys(&dir)?.iter().any(|(_, k)| k.kid() == kid) {
            bail!("key id {kid} is already used");
        }
        let seed = random_seed()?;
        let key = IssuerKey::from_seed(kid, seed);
        write_secret(
            &dir.join(format!("{kid}.key")),
            &serde_json::to_string_pretty(&OnlineKeyFile {
                kid: kid.to_string(),
                role,
                seed: hex::encode(seed),
            })?,
        )?;
        Ok(KeyRequest {
            kid,
            role,
            public_key: hex::encode(key.public_key_bytes()),
            valid_from,
            issuer: issuer.to_owned(),
        })
    }
}

/// First start: root, copy-signing key SH01, snapshot-signing key SN01, and a trust list
/// valid for a year. The root's private half goes to `offline-root/`, never read again here.
fn create_first_keys(
    data_dir: &Path,
    issuer: &str,
    valid_from: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let root = IssuerKey::from_seed(KeyId::new(*b"RT01"), random_seed()?);
    let root_path = offline_root_dir(data_dir).join("RT01.root.key");
    write_secret(
        &root_path,
        &serde_json::to_string_pretty(&RootKeyFile {
            kid: root.kid().to_string(),
            seed: hex::encode(root.seed()),
        })?,
    )?;
    let mut listed = Vec::new();
    for (kid, role) in [
        ("SH01", KeyRole::CopySigning),
        ("SN01", KeyRole::SnapshotSigning),
    ] {
        let request = KeyRing::new_online_key(data_dir, kid, role, valid_from, issuer)?;
        listed.push(request);
    }
    let list = list_of(&listed, now)?.expiring(now + FIRST_LIST_VALIDITY);
    create_private_dir(&trust_dir(data_dir))?;
    fs::write(
        root_public_path(data_dir),
        serde_json::to_string_pretty(&RootPublicKey::of(&root))?,
    )?;
    write_atomically(&trust_list_path(data_dir), list.sign(&root).as_bytes())?;
    tracing::warn!(
        root = %root_path.display(),
        "generated a root key, online keys and a trust list valid for a year; the root's private half is in offline-root/: move it off this server (zizhi trust sign needs it, the server never does)"
    );
    Ok(())
}

fn list_of(requests: &[KeyRequest], now: DateTime<Utc>) -> anyhow::Result<TrustList> {
    let keys = requests
        .iter()
        .map(|r| {
            let public_key: [u8; 32] = hex::decode(&r.public_key)
                .ok()
                .and_then(|b| b.try_into().ok())
                .with_context(|| format!("{}: public key must be 32 bytes of hex", r.kid))?;
            Ok(TrustedKey {
                kid: r.kid,
                role: r.role,
                public_key,
                issuer: r.issuer.clone(),
                valid_from: r.valid_from,
                valid_to: None,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(TrustList::new(keys, now))
}

/// What the offline signer is asked to do (`zizhi trust sign`).
#[derive(Debug, Default)]
pub struct TrustListChange {
    /// Keys to list, from their requests.
    pub add: Vec<KeyRequest>,
    /// Keys whose window closes on the date given (inclusive).
    pub retire: Vec<(KeyId, NaiveDate)>,
    /// Until when the root vouches for the new list.
    pub valid_until: DateTime<Utc>,
}

/// Builds and signs the next trust list from the current one, on the offline machine.
///
/// Refused: a change that leaves a role without a key for some day between now and the
/// list's expiry (no instance could sign then), and a retirement that closes an old key's
/// window before its successor's opens (copies signed on the switch day by an instance that
/// has not yet switched would fail) — the rotation rule that keeps a mixed fleet right.
pub fn sign_next_trust_list(
    root: &IssuerKey,
    current: Option<&TrustList>,
    change: &TrustListChange,
    now: DateTime<Utc>,
) -> anyhow::Result<SignedTrustList> {
    let mut keys = current.map(|c| c.keys.clone()).unwrap_or_default();
    for (kid, on) in &change.retire {
        let k = keys
            .iter_mut()
            .find(|k| k.kid == *kid)
            .with_context(|| format!("{kid} is not in the current list"))?;
        k.valid_to = Some(*on);
    }
    let added = list_of(&change.add, now)?.keys;
    for k in added {
        if keys.iter().any(|o| o.kid == k.kid) {
            bail!("key id {} is already listed", k.kid);
        }
        keys.push(k);
    }
    let list = TrustList::new(keys, now).expiring(change.valid_until);
    list.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(c) = current
        && list.issued_at <= c.issued_at
    {
        bail!(
            "the current list was issued at {}, not before now",
            c.issued_at
        );
    }
    // Overlap: on the day a key's window closes its successor must already be in force, so
    // an instance still signing with the old key on that day and one already on the new key
    // both produce copies every list in circulation accepts.
    for (kid, on) in &change.retire {
        let Some(old) = list.find(kid) else { continue };
        let next_day = on.succ_opt().context("date overflow")?;
        let successor = list.keys.iter().any(|k| {
            k.kid != *kid && k.role == old.role && k.valid_from <= *on && k.covers(next_day)
        });
        if !successor && next_day <= change.valid_until.date_naive() {
            bail!(
                "{kid} would close on {on} without a successor already in force that day: retire it on or after the successor's first day"
            );
        }
    }
    for role in [KeyRole::CopySigning, KeyRole::SnapshotSigning] {
        let mut day = now.date_naive();
        let last = change.valid_until.date_naive();
        while day <= last {
            if !list.keys.iter().any(|k| k.role == role && k.covers(day)) {
                bail!(
                    "no {role} key would be in force on {day}: retire later or list a successor from that day"
                );
            }
            day = day.succ_opt().context("date overflow")?;
        }
    }
    Ok(list.sign(root))
}

/// The trust list as served at `/.well-known/zizhi/trust-list` and read by `zizhi verify`:
/// the signed bytes are authoritative; the decoded keys are there for people to read.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublishedTrustList {
    pub root_kid: String,
    /// base64 of the COSE_Sign1 trust list; verify it with the pinned root public key.
    pub signed: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub keys: Vec<TrustedKey>,
}

impl PublishedTrustList {
    pub fn from_keys(keys: &LoadedKeys) -> Self {
        use base64::Engine;
        PublishedTrustList {
            root_kid: keys.root.kid.to_string(),
            signed: base64::engine::general_purpose::STANDARD.encode(keys.signed.as_bytes()),
            issued_at: keys.trust.list().issued_at,
            expires_at: keys.trust.list().expires_at,
            keys: keys.trust.list().keys.clone(),
        }
    }

    /// Opens the signed list with a pinned root key; the decoded `keys` field is ignored.
    pub fn open(&self, root: &[u8; 32]) -> anyhow::Result<TrustList> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.signed)
            .context("trust list: bad base64")?;
        let vk = ed25519_dalek_key(root)?;
        SignedTrustList::from_bytes(bytes)
            .open(&vk)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

fn ed25519_dalek_key(bytes: &[u8; 32]) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
    ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|e| anyhow::anyhow!("bad root key: {e}"))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use chrono::TimeZone;

    use super::*;

    fn t(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 8, 0, 0).unwrap()
    }

    const ISSUER: &str = "上海市住房和城乡建设管理委员会";

    #[test]
    fn first_start_keeps_the_root_private_half_out_of_what_the_server_reads() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(
            dir.path(),
            ISSUER,
            t(2026, 1, 1).date_naive(),
            t(2026, 1, 1),
        )
        .unwrap();
        let keys = ring.current();
        let root = RootKeyFile::read(&offline_root_dir(dir.path()).join("RT01.root.key")).unwrap();
        assert_eq!(keys.root().bytes().unwrap(), root.public_key_bytes());
        // Nothing under keys/ is the root, and no online key can sign a trust list.
        for entry in fs::read_dir(keys_dir(dir.path())).unwrap() {
            let text = fs::read_to_string(entry.unwrap().path()).unwrap();
            assert!(!text.contains(&hex::encode(root.seed())));
        }
        let copy_key = keys
            .signer(KeyRole::CopySigning, t(2026, 1, 2).date_naive())
            .unwrap();
        let forged = keys.trust_list().sign(copy_key);
        assert!(forged.open(&root.verifying_key()).is_err());
        for p in [
            keys_dir(dir.path()).join("SH01.key"),
            offline_root_dir(dir.path()).join("RT01.root.key"),
        ] {
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600,
                "{}",
                p.display()
            );
        }
        assert_eq!(
            keys.signer(KeyRole::SnapshotSigning, t(2026, 1, 2).date_naive())
                .unwrap()
                .kid()
                .to_string(),
            "SN01"
        );
    }

    #[test]
    fn a_rotation_signed_offline_switches_keys_on_its_date_and_an_older_list_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let start = t(2026, 1, 1);
        let ring = KeyRing::load_or_create(dir.path(), ISSUER, start.date_naive(), start).unwrap();
        let root = RootKeyFile::read(&offline_root_dir(dir.path()).join("RT01.root.key")).unwrap();
        let old_list = ring.current().trust_list().clone();
        let old_signed = ring.current().signed_trust_list().clone();

        let switch = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let request =
            KeyRing::new_online_key(dir.path(), "SH02", KeyRole::CopySigning, switch, ISSUER)
                .unwrap();
        // Listed before the switch day, the key is unused until then.
        assert!(!ring.reload().unwrap(), "an unlisted key changes nothing");

        // Closing SH01 the day before SH02 starts is the mixed-fleet hazard: refused.
        let early = TrustListChange {
            add: vec![request.clone()],
            retire: vec![(KeyId::new(*b"SH01"), switch.pred_opt().unwrap())],
            valid_until: t(2027, 1, 1),
        };
        assert!(sign_next_trust_list(&root, Some(&old_list), &early, t(2026, 2, 1)).is_err());
        let change = TrustListChange {
            add: vec![request],
            retire: vec![(KeyId::new(*b"SH01"), switch)],
            valid_until: t(2027, 1, 1),
        };
        let next = sign_next_trust_list(&root, Some(&old_list), &change, t(2026, 2, 1)).unwrap();
        KeyRing::install(dir.path(), &next).unwrap();
        assert!(ring.reload().unwrap());
        let keys = ring.current();
        let kid = |d: NaiveDate| {
            keys.signer(KeyRole::CopySigning, d)
                .unwrap()
                .kid()
                .to_string()
        };
        assert_eq!(kid(switch.pred_opt().unwrap()), "SH01");
        assert_eq!(kid(switch), "SH02");
        // On the switch day both windows hold, so a copy signed by either key verifies.
        let sh01 = keys.trust_list().find(&KeyId::new(*b"SH01")).unwrap();
        assert!(sh01.covers(switch));

        // Replaying the old list: refused by install and by reload.
        assert!(KeyRing::install(dir.path(), &old_signed).is_err());
        write_atomically(&trust_list_path(dir.path()), old_signed.as_bytes()).unwrap();
        assert!(ring.reload().is_err());
        assert_eq!(ring.current().signed_trust_list(), &next);
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        KeyRing::load_or_create(
            dir.path(),
            ISSUER,
            t(2026, 1, 1).date_naive(),
            t(2026, 1, 1),
        )
        .unwrap();
        let path = keys_dir(dir.path()).join("SH01.key");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = KeyRing::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
