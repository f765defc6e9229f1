//! Configuration: one typed struct, loaded in layers — built-in defaults, then an optional
//! TOML file (`zizhi.toml` or `--config`), then the environment (`ZIZHI_*`, plus the
//! conventional `DATABASE_URL` and `REDIS_URL`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the server listens on.
    pub bind: SocketAddr,
    /// `sqlite://…` (default, created on first start) or `postgres://…`.
    pub database_url: String,
    /// Shared cache, invalidation and rate limits across instances; in-process when unset.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so several deployments (or test runs) can share a server.
    pub redis_namespace: String,
    /// Host printed in QR URLs (`HTTPS://<HOST>/V/…`).
    pub public_host: String,
    /// Where keys and the generated issuer token live.
    pub data_dir: PathBuf,
    /// 发证机关
    pub issuer_name: String,
    /// Bearer token for the issuer API; generated into `<data_dir>/issuer-token` when unset.
    #[serde(serialize_with = "never_serialize")]
    pub issuer_token: Option<SecretString>,
    pub rate_limit: RateLimitSettings,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// How long a cached certificate status may live even without an invalidation.
    pub cache_ttl_secs: u64,
}

fn never_serialize<S: serde::Serializer>(
    _: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_none()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    pub enabled: bool,
    /// Requests per minute per client address on public endpoints.
    pub per_minute: u32,
    /// Requests a client may make at once before the per-minute rate applies.
    pub burst: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".parse().expect("static address"),
            database_url: "sqlite://data/zizhi.db".into(),
            redis_url: None,
            redis_namespace: "zizhi".into(),
            public_host: "127.0.0.1:8080".into(),
            data_dir: "data".into(),
            issuer_name: "上海市住房和城乡建设管理委员会".into(),
            issuer_token: None,
            rate_limit: RateLimitSettings {
                enabled: true,
                per_minute: 120,
                burst: 30,
            },
            trust_forwarded_for: false,
            body_limit_bytes: 64 * 1024,
            cache_ttl_secs: 300,
        }
    }
}

impl Settings {
    /// Defaults, then the TOML file (when it exists), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, Box<figment::Error>> {
        let file = file
            .map(Path::to_path_buf)
            .unwrap_or_else(|| "zizhi.toml".into());
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("ZIZHI_").split("__"))
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL", "REDIS_URL"])
                    .map(|k| k.as_str().to_lowercase().into()),
            )
            .extract()
            .map_err(Box::new)
    }
}
