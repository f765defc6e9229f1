//! The issuer's Ed25519 keys (签发密钥) and the trust list built from them.
//!
//! Keys live as one JSON file each under `<data_dir>/keys/` (mode 0600): the root key that
//! signs the trust list, and any number of signing keys; the newest signing key without an
//! end date signs new copies, older ones stay in the trust list so their copies still verify.
//! A fresh data directory gets a root and a first signing key on first start; nothing secret
//! is ever logged.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::{
    Claims, IssuerKey, KeyId, QrText, SignedStatusSnapshot, SignedTrustList, StatusSnapshot,
    TrustList, TrustedKey,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Role {
    Root,
    Signing,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    kid: String,
    role: Role,
    /// Ed25519 seed, hex.
    seed: String,
    issuer: String,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
}

impl KeyFile {
    fn key(&self) -> anyhow::Result<IssuerKey> {
        let kid = KeyId::parse(&self.kid).map_err(|e| anyhow::anyhow!("{e}"))?;
        let seed: [u8; 32] = hex::decode(&self.seed)
            .ok()
            .and_then(|b| b.try_into().ok())
            .context("key seed must be 32 bytes of hex")?;
        Ok(IssuerKey::from_seed(kid, seed))
    }
}

/// The keys a server signs with, and the signed trust list it publishes.
pub struct KeyRing {
    root: IssuerKey,
    signing: IssuerKey,
    trust: TrustList,
    signed: SignedTrustList,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("root", &self.root.kid().to_string())
            .field("signing", &self.signing.kid().to_string())
            .finish_non_exhaustive()
    }
}

fn random_seed() -> anyhow::Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    Ok(seed)
}

fn write_secret(path: &Path, file: &KeyFile) -> anyhow::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create key file {}", path.display()))?;
    f.write_all(serde_json::to_string_pretty(file)?.as_bytes())?;
    Ok(())
}

fn keys_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys")
}

fn read_all(dir: &Path) -> anyhow::Result<Vec<(PathBuf, KeyFile)>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "key") {
            let text = fs::read_to_string(&path)?;
            let file: KeyFile = serde_json::from_str(&text)
                .with_context(|| format!("bad key file {}", path.display()))?;
            out.push((path, file));
        }
    }
    out.sort_by(|a, b| (a.1.valid_from, &a.1.kid).cmp(&(b.1.valid_from, &b.1.kid)));
    Ok(out)
}

impl KeyRing {
    /// Loads the keys under `data_dir`, generating a root and a first signing key (in force
    /// from `valid_from`) when there are none: first start, or the demo, whose history
    /// starts years back.
    pub fn load_or_create(
        data_dir: &Path,
        issuer: &str,
        valid_from: NaiveDate,
        now: DateTime<Utc>,
    ) -> anyhow::Result<KeyRing> {
        let dir = keys_dir(data_dir);
        if read_all(&dir)?.is_empty() {
            fs::create_dir_all(&dir)?;
            let today = valid_from;
            for (kid, role) in [("RT01", Role::Root), ("SH01", Role::Signing)] {
                let file = KeyFile {
                    kid: kid.into(),
                    role,
                    seed: hex::encode(random_seed()?),
                    issuer: issuer.into(),
                    valid_from: today,
                    valid_to: None,
                };
                write_secret(&dir.join(format!("{kid}.key")), &file)?;
            }
            tracing::info!(dir = %dir.display(), "generated a new root key and signing key");
        }
        Self::load(data_dir, now)
    }

    pub fn load(data_dir: &Path, now: DateTime<Utc>) -> anyhow::Result<KeyRing> {
        let files = read_all(&keys_dir(data_dir))?;
        let root = files
            .iter()
            .find(|(_, f)| f.role == Role::Root)
            .context("no root key (run `zizhi keygen`)")?
            .1
            .key()?;
        let signing_files: Vec<&KeyFile> = files
            .iter()
            .map(|(_, f)| f)
            .filter(|f| f.role == Role::Signing)
            .collect();
        let active = signing_files
            .iter()
            .rev()
            .find(|f| f.valid_to.is_none() && f.valid_from <= now.date_naive())
            .context("no signing key in force (run `zizhi keygen`)")?;
        let signing = active.key()?;
        let trusted = signing_files
            .iter()
            .map(|f| {
                Ok(TrustedKey::for_key(
                    &f.key()?,
                    &f.issuer,
                    f.valid_from,
                    f.valid_to,
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let trust = TrustList::new(trusted, now);
        let signed = trust.sign(&root);
        Ok(KeyRing {
            root,
            signing,
            trust,
            signed,
        })
    }

    /// Key rotation: ends the current signing key today and starts a new one under `kid`.
    /// Copies signed by the old key keep verifying while it stays in the trust list.
    pub fn rotate(
        data_dir: &Path,
        kid: &str,
        issuer: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let kid_checked = KeyId::parse(kid).map_err(|e| anyhow::anyhow!("{e}"))?;
        let dir = keys_dir(data_dir);
        let files = read_all(&dir)?;
        if files.iter().any(|(_, f)| f.kid == kid_checked.to_string()) {
            bail!("key id {kid} is already used");
        }
        let today = now.date_naive();
        for (path, mut f) in files {
            if f.role == Role::Signing && f.valid_to.is_none() {
                f.valid_to = Some(today);
                let tmp = path.with_extension("key.tmp");
                write_secret(&tmp, &f)?;
                fs::rename(&tmp, &path)?;
            }
        }
        fs::create_dir_all(&dir)?;
        write_secret(
            &dir.join(format!("{kid_checked}.key")),
            &KeyFile {
                kid: kid_checked.to_string(),
                role: Role::Signing,
                seed: hex::encode(random_seed()?),
                issuer: issuer.into(),
                valid_from: today,
                valid_to: None,
            },
        )
    }

    pub fn signing_key(&self) -> &IssuerKey {
        &self.signing
    }

    pub fn trust_list(&self) -> &TrustList {
        &self.trust
    }

    pub fn signed_trust_list(&self) -> &SignedTrustList {
        &self.signed
    }

    pub fn root_public_key(&self) -> [u8; 32] {
        self.root.public_key_bytes()
    }

    pub fn root_kid(&self) -> KeyId {
        self.root.kid()
    }

    /// Signs a status snapshot with the root key, the key that signs the trust list and the
    /// one the app pins; the root secret stays inside the ring.
    pub fn sign_status_snapshot(&self, snapshot: &StatusSnapshot) -> SignedStatusSnapshot {
        snapshot.sign(&self.root)
    }

    /// Signs the claims with the key in force and gives the text the QR code holds.
    pub fn qr_text(&self, claims: &Claims, host: &str) -> String {
        QrText::encode(host, &claims.sign(&self.signing))
    }
}

/// The trust list as served at `/.well-known/zizhi/trust-list` and read by `zizhi verify`:
/// the signed bytes are authoritative; the decoded keys are there for people to read.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublishedTrustList {
    pub root_kid: String,
    /// base64 of the COSE_Sign1 trust list; verify it with the pinned root public key.
    pub signed: String,
    pub issued_at: DateTime<Utc>,
    pub keys: Vec<TrustedKey>,
}

impl PublishedTrustList {
    pub fn from_ring(ring: &KeyRing) -> Self {
        use base64::Engine;
        PublishedTrustList {
            root_kid: ring.root_kid().to_string(),
            signed: base64::engine::general_purpose::STANDARD
                .encode(ring.signed_trust_list().as_bytes()),
            issued_at: ring.trust_list().issued_at,
            keys: ring.trust_list().keys.clone(),
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
