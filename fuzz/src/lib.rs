//! What the fuzz targets share: the fixed test keys, the trust list and the clock they verify
//! against, and the server's pure parsers compiled from their own source files.
//!
//! The server's parsers are included with `#[path]` rather than through a dependency on
//! `zizhi-server`: that crate brings ~500 crates (sqlx, Redis, the PDF stack), and building
//! them all with coverage instrumentation would cost minutes the CI run cannot spare. The
//! included files use no other server module by design, so they compile here unchanged; if one
//! ever does, this crate stops building and `scripts/fuzz.sh` fails, which says so.

use std::sync::LazyLock;

use chrono::{DateTime, TimeZone, Utc};
use zizhi_app::sync::RootPin;
use zizhi_shared::trust::KeyRole;
use zizhi_shared::{IssuerKey, KeyId, TrustList, TrustedKey, VerifyingKey};

/// `server/src/chat/message.rs`: the platform's XML.
#[path = "../../server/src/chat/message.rs"]
pub mod chat_message;

/// `server/src/chat/crypto.rs`: safe mode's encrypted envelope.
#[path = "../../server/src/chat/crypto.rs"]
pub mod chat_crypto;

/// `server/src/verify/request.rs`: the body of `POST /api/v1/verify`.
#[path = "../../server/src/verify/request.rs"]
pub mod verify_request;

/// The one issuer key the test trust list holds. Nothing the fuzzer makes up can carry its
/// signature, so any payload that verifies must be one the seeds signed with it.
pub fn issuer() -> &'static IssuerKey {
    // Deriving a key costs a scalar multiplication: once per process, not once per input.
    static KEY: LazyLock<IssuerKey> =
        LazyLock::new(|| IssuerKey::from_seed(KeyId::new(*b"FZ01"), [7; 32]));
    &KEY
}

/// The key the trust list names for status snapshots (and nothing else).
pub fn snapshot_signer() -> &'static IssuerKey {
    static KEY: LazyLock<IssuerKey> =
        LazyLock::new(|| IssuerKey::from_seed(KeyId::new(*b"FZSN"), [5; 32]));
    &KEY
}

/// The root key that signs the trust list; the app's pin.
pub fn root() -> &'static IssuerKey {
    static KEY: LazyLock<IssuerKey> =
        LazyLock::new(|| IssuerKey::from_seed(KeyId::new(*b"FZRT"), [9; 32]));
    &KEY
}

pub fn root_key() -> VerifyingKey {
    root().verifying_key()
}

/// The pin the app would have stored for [`root`].
pub fn pin() -> &'static RootPin {
    static PIN: LazyLock<RootPin> = LazyLock::new(|| RootPin {
        kid: root().kid().as_str().to_owned(),
        key_hex: hex::encode(root().public_key_bytes()),
    });
    &PIN
}

/// The verifiers' clock: after every seed's issue time.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The trust list the targets verify against: [`issuer`] for copies, valid from 2020 on, and
/// [`snapshot_signer`] for snapshots, valid from 1970 on (so any snapshot time a decoded
/// snapshot may carry is inside its window).
pub fn trust_list() -> &'static TrustList {
    static LIST: LazyLock<TrustList> = LazyLock::new(|| {
        let from = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
        let issuer_name = "上海市住房和城乡建设管理委员会";
        TrustList::new(
            vec![
                TrustedKey::for_key(issuer(), issuer_name, from, None),
                TrustedKey::for_key(
                    snapshot_signer(),
                    issuer_name,
                    chrono::NaiveDate::default(),
                    None,
                )
                .with_role(KeyRole::SnapshotSigning),
            ],
            now(),
        )
    });
    &LIST
}

/// The server's safe-mode key and AppID in the chat target.
pub const ENCODING_AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
pub const APP_ID: &str = "wx1234567890abcdef";

/// The response body the app fetches from `/.well-known/zizhi/trust-list` and
/// `/api/v1/status/snapshot`, carrying `signed` under the pinned root's kid.
pub fn published(signed: &[u8]) -> String {
    use base64::Engine;
    serde_json::json!({
        "root_kid": root().kid().as_str(),
        "signed": base64::engine::general_purpose::STANDARD.encode(signed),
    })
    .to_string()
}

/// Checks what must hold of any text that verified against [`trust_list`]: only the fixed
/// issuer's genuine signature over the canonical claims gets there, so re-signing the claims
/// (under the algorithm label the payload carries) gives back exactly the payload bytes.
pub fn check_verified(payload: &[u8], v: &zizhi_shared::Verified) {
    assert_eq!(v.kid, issuer().kid());
    // Labelled -19 (what we sign) or -8 (copies printed before RFC 9864): either way exactly
    // what the issuer's key writes for these claims.
    let resigned = [
        zizhi_shared::SignatureAlgorithm::Ed25519,
        zizhi_shared::SignatureAlgorithm::EdDsa,
    ]
    .map(|alg| v.claims.sign_as(issuer(), alg).into_bytes());
    assert!(
        resigned.iter().any(|r| r.as_slice() == payload),
        "a payload verified that is not the issuer's signature over its claims"
    );
    v.claims.validate().expect("verified claims are valid");
}
