//! Configuration: one typed struct, loaded in layers — built-in defaults, then an optional
//! TOML file (`zizhi.toml` or `--config`), then the environment (`ZIZHI_*`, plus the
//! conventional `DATABASE_URL` and `REDIS_URL`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// `Debug` is written out below: the database and Redis URLs may carry passwords.
#[derive(Clone, Serialize, Deserialize)]
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
    /// Base URL of the H5 pages in chat replies, e.g. `https://zizhi.example.cn`; when unset,
    /// `http://<bound address>`.
    pub public_base_url: Option<String>,
    /// Where keys and the generated issuer token live.
    pub data_dir: PathBuf,
    /// 发证机关
    pub issuer_name: String,
    /// Bearer token for the issuer API; generated into `<data_dir>/issuer-token` when unset.
    #[serde(serialize_with = "never_serialize")]
    pub issuer_token: Option<SecretString>,
    pub rate_limit: RateLimitSettings,
    /// Older spelling of `[proxy] trusted_hops = 1`: take the client address from the last
    /// `X-Forwarded-For` entry, the one the proxy adds.
    pub trust_forwarded_for: bool,
    /// The reverse proxies in front of the server, whose `X-Forwarded-For` entries count.
    pub proxy: ProxySettings,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// How long a cached certificate status may live even without an invalidation.
    pub cache_ttl_secs: u64,
    /// Scanned payloads whose signature check and last verdict are kept for repeat scans
    /// (`verify::repeat`); 0 keeps none.
    pub repeat_scan_entries: u64,
    /// Most first scans whose signatures are checked together (`verify::batch`); 1 checks
    /// each on its own.
    pub signature_batch_max: usize,
    /// The official-account (公众号) endpoint `/wechat`.
    pub chat: ChatSettings,
    /// Certificate documents: fonts and the PDF signing keys.
    pub documents: crate::pdf::DocumentSettings,
    /// The built scanner app (`bash scripts/build-app.sh` writes it), served at `/app/`.
    pub app_dir: PathBuf,
    /// Time bounds that keep answers coming when a part fails.
    pub resilience: ResilienceSettings,
    /// `text` (readable) or `json` (one object a line, for log collectors); every line of a
    /// request carries its `x-request-id`.
    pub log_format: LogFormat,
    /// Also serve Prometheus `/metrics` on this address (e.g. `127.0.0.1:9100`, reachable by
    /// the scraper only). `/metrics` on the main address always needs the issuer token.
    pub metrics_bind: Option<SocketAddr>,
    /// The enterprise portal and the issuer console: passkeys and sessions.
    pub portal: PortalSettings,
}

/// 网上办事: sign-in with passkeys and the sessions it starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalSettings {
    /// WebAuthn relying-party id: the public host name, no scheme or port. Unset: the host of
    /// `public_base_url`, else `localhost` (browsers refuse an IP address as an RP id).
    pub rp_id: Option<String>,
    /// A session unused this long ends.
    pub session_idle_minutes: u64,
    /// A session ends this long after sign-in, used or not.
    pub session_max_hours: u64,
    /// Demo mode (`zizhi serve --demo` sets it): an account without a registered key may
    /// approve a usage copy with its password alone, and one-time login links are printed.
    /// Never in production.
    pub demo: bool,
}

impl Default for PortalSettings {
    fn default() -> Self {
        PortalSettings {
            rp_id: None,
            session_idle_minutes: 30,
            session_max_hours: 12,
            demo: false,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Every field, so a new one is not forgotten: the destructuring fails to compile.
        let Settings {
            bind,
            database_url,
            redis_url,
            redis_namespace,
            public_host,
            public_base_url,
            data_dir,
            issuer_name,
            issuer_token,
            rate_limit,
            trust_forwarded_for,
            proxy,
            body_limit_bytes,
            cache_ttl_secs,
            repeat_scan_entries,
            signature_batch_max,
            chat,
            documents,
            app_dir,
            resilience,
            log_format,
            metrics_bind,
            portal,
        } = self;
        f.debug_struct("Settings")
            .field("bind", bind)
            .field("database_url", &redact_url(database_url))
            .field("redis_url", &redis_url.as_deref().map(redact_url))
            .field("redis_namespace", redis_namespace)
            .field("public_host", public_host)
            .field("public_base_url", public_base_url)
            .field("data_dir", data_dir)
            .field("issuer_name", issuer_name)
            .field("issuer_token", issuer_token)
            .field("rate_limit", rate_limit)
            .field("trust_forwarded_for", trust_forwarded_for)
            .field("proxy", proxy)
            .field("body_limit_bytes", body_limit_bytes)
            .field("cache_ttl_secs", cache_ttl_secs)
            .field("repeat_scan_entries", repeat_scan_entries)
            .field("signature_batch_max", signature_batch_max)
            .field("chat", chat)
            .field("documents", documents)
            .field("app_dir", app_dir)
            .field("resilience", resilience)
            .field("log_format", log_format)
            .field("metrics_bind", metrics_bind)
            .field("portal", portal)
            .finish()
    }
}

/// `scheme://user:password@host/…` with the password replaced by `***`, for logs and
/// `Debug`; a URL without one is returned as it is.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let after = &url[scheme_end + 3..];
    let authority_len = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..authority_len];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return url.to_owned();
    };
    format!(
        "{}{}:***{}",
        &url[..scheme_end + 3],
        &userinfo[..colon],
        &url[scheme_end + 3 + at..]
    )
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// 容错: how long the server waits for each part before it answers without it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResilienceSettings {
    /// Wait for a PostgreSQL connection at most this long; a write then answers 503
    /// `store_unavailable`. (SQLite, a local file, waits for its write lock instead.)
    pub database_acquire_timeout_ms: u64,
    /// Wait for Redis at most this long; after a failure it is skipped for a second.
    pub redis_timeout_ms: u64,
    /// Time a verification may spend reading the register before it answers that the live
    /// status cannot be read now.
    pub status_read_budget_ms: u64,
    /// While the database is down, a status confirmed at most this long ago is still shown,
    /// dated; after that only the signature is vouched for.
    pub serve_confirmed_status_secs: u64,
    /// On SIGTERM or SIGINT, requests in flight get this long to finish.
    pub shutdown_grace_secs: u64,
    /// A request taking longer is answered 503.
    pub request_timeout_secs: u64,
    /// Requests handled at once; beyond that the answer is 503 with `Retry-After`.
    pub max_concurrent_requests: usize,
    /// A client must send its request headers within this time.
    pub header_read_timeout_secs: u64,
}

impl Default for ResilienceSettings {
    fn default() -> Self {
        ResilienceSettings {
            database_acquire_timeout_ms: 500,
            redis_timeout_ms: 50,
            status_read_budget_ms: 500,
            serve_confirmed_status_secs: 300,
            shutdown_grace_secs: 10,
            request_timeout_secs: 30,
            max_concurrent_requests: 512,
            header_read_timeout_secs: 10,
        }
    }
}

/// 公众号服务器配置: the values entered on the platform's server configuration page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSettings {
    /// 令牌 (Token); the endpoint answers 503 until it is set.
    #[serde(serialize_with = "never_serialize")]
    pub token: Option<SecretString>,
    /// AppID, checked inside every safe-mode message.
    pub app_id: Option<String>,
    /// 消息加解密密钥 (EncodingAESKey, 43 characters); needed for safe mode only.
    #[serde(serialize_with = "never_serialize")]
    pub encoding_aes_key: Option<SecretString>,
    /// Time allowed for one passive reply; the platform gives up after 5 s.
    pub reply_budget_ms: u64,
    /// Messages one follower may send a minute before being asked to slow down.
    pub per_follower_per_minute: u32,
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
    /// The issuer API, per client address (staff tools send batches).
    pub issuer: Budget,
    /// The enterprise API, per client address.
    pub enterprise: Budget,
    /// The official-account endpoint, per source address: every follower's message comes
    /// from the platform's few addresses, so this is high; each follower has its own limit
    /// (`chat.per_follower_per_minute`).
    pub chat: Budget,
}

impl RateLimitSettings {
    /// The public endpoints' budget.
    pub fn public(&self) -> Budget {
        Budget {
            per_minute: self.per_minute,
            burst: self.burst,
        }
    }
}

/// Requests per minute per client address, and how many may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub per_minute: u32,
    pub burst: u32,
}

/// `[proxy]`: which `X-Forwarded-For` entries were written by our own proxies. The client is
/// the right-most address that is not one of them; what lies left of it is the client's to
/// choose and never counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySettings {
    /// Proxies in a row in front of the server (0: none, the connection's address is the
    /// client's).
    pub trusted_hops: u8,
    /// Networks our proxies connect from (`["10.0.0.0/8", "::1/128"]`); when set, they decide
    /// instead of `trusted_hops`.
    pub trusted: Vec<ipnet::IpNet>,
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
                issuer: Budget {
                    per_minute: 600,
                    burst: 100,
                },
                enterprise: Budget {
                    per_minute: 60,
                    burst: 20,
                },
                chat: Budget {
                    per_minute: 6000,
                    burst: 1000,
                },
            },
            trust_forwarded_for: false,
            proxy: ProxySettings::default(),
            body_limit_bytes: 64 * 1024,
            cache_ttl_secs: 300,
            repeat_scan_entries: crate::verify::repeat::DEFAULT_CAPACITY,
            signature_batch_max: crate::verify::batch::DEFAULT_MAX_BATCH,
            public_base_url: None,
            chat: ChatSettings {
                token: None,
                app_id: None,
                encoding_aes_key: None,
                reply_budget_ms: 4500,
                per_follower_per_minute: 30,
            },
            documents: crate::pdf::DocumentSettings::default(),
            app_dir: "mobile/dist".into(),
            resilience: ResilienceSettings::default(),
            log_format: LogFormat::Text,
            metrics_bind: None,
            portal: PortalSettings::default(),
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

#[cfg(test)]
mod tests {
    // `Jail` closures return figment's own `Result`, whose error is large; fine in tests.
    #![allow(clippy::result_large_err)]

    use figment::Jail;
    use secrecy::ExposeSecret;

    use super::*;

    /// `Settings::load` inside a jail: an empty working directory and an environment holding
    /// only what the test sets.
    fn load(file: Option<&Path>) -> figment::Result<Settings> {
        Settings::load(file).map_err(|e| *e)
    }

    fn as_json(s: &Settings) -> serde_json::Value {
        serde_json::to_value(s).expect("settings serialise")
    }

    #[test]
    fn defaults_load_when_there_is_no_file_and_no_environment() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let s = load(None)?;
            assert_eq!(as_json(&s), as_json(&Settings::default()));
            assert!(s.issuer_token.is_none());
            assert!(s.rate_limit.enabled);
            Ok(())
        });
    }

    #[test]
    fn a_toml_file_overrides_the_fields_it_names_and_keeps_the_rest() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "custom.toml",
                r#"
                bind = "0.0.0.0:9000"
                database_url = "postgres://zizhi@db/zizhi"
                issuer_token = "from-the-file"

                [rate_limit]
                per_minute = 10
                "#,
            )?;
            let s = load(Some(&jail.directory().join("custom.toml")))?;
            assert_eq!(s.bind, "0.0.0.0:9000".parse().unwrap());
            assert_eq!(s.database_url, "postgres://zizhi@db/zizhi");
            assert_eq!(
                s.issuer_token.as_ref().map(|t| t.expose_secret()),
                Some("from-the-file")
            );
            assert_eq!(s.rate_limit.per_minute, 10);
            let d = Settings::default();
            assert_eq!(s.rate_limit.burst, d.rate_limit.burst);
            assert_eq!(s.rate_limit.enabled, d.rate_limit.enabled);
            assert_eq!(s.body_limit_bytes, d.body_limit_bytes);
            assert_eq!(s.issuer_name, d.issuer_name);
            Ok(())
        });
    }

    #[test]
    fn zizhi_toml_in_the_working_directory_is_read_when_no_file_is_named() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("zizhi.toml", "cache_ttl_secs = 7")?;
            assert_eq!(load(None)?.cache_ttl_secs, 7);
            Ok(())
        });
    }

    #[test]
    fn the_environment_overrides_the_file() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "zizhi.toml",
                "database_url = \"sqlite://file.db\"\n[rate_limit]\nper_minute = 10\n",
            )?;
            jail.set_env("ZIZHI_RATE_LIMIT__PER_MINUTE", "7");
            jail.set_env("ZIZHI_ISSUER_TOKEN", "from-the-env");
            jail.set_env("DATABASE_URL", "postgres://env@db/zizhi");
            jail.set_env("REDIS_URL", "redis://cache:6379");
            let s = load(None)?;
            assert_eq!(s.rate_limit.per_minute, 7);
            assert_eq!(s.database_url, "postgres://env@db/zizhi");
            assert_eq!(s.redis_url.as_deref(), Some("redis://cache:6379"));
            assert_eq!(
                s.issuer_token.as_ref().map(|t| t.expose_secret()),
                Some("from-the-env")
            );
            Ok(())
        });
    }

    #[test]
    fn the_app_is_served_from_mobile_dist_unless_zizhi_app_dir_says_otherwise() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            assert_eq!(load(None)?.app_dir, PathBuf::from("mobile/dist"));
            jail.set_env("ZIZHI_APP_DIR", "/srv/zizhi/app");
            assert_eq!(load(None)?.app_dir, PathBuf::from("/srv/zizhi/app"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_in_the_file_are_rejected() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("top.toml", "bnid = \"127.0.0.1:1\"")?;
            jail.create_file("nested.toml", "[rate_limit]\nper_hour = 3")?;
            for (file, key) in [("top.toml", "bnid"), ("nested.toml", "per_hour")] {
                let err = load(Some(&jail.directory().join(file)))
                    .expect_err("an unknown key must not load");
                assert!(err.to_string().contains(key), "{file}: {err}");
            }
            Ok(())
        });
    }

    #[test]
    fn debug_output_never_shows_database_or_redis_passwords() {
        let s = Settings {
            database_url: "postgres://zizhi:pg-S3cret@db:5432/zizhi".into(),
            redis_url: Some("redis://:redis-S3cret@cache:6379/0".into()),
            ..Settings::default()
        };
        let debug = format!("{s:?}");
        assert!(!debug.contains("pg-S3cret"), "{debug}");
        assert!(!debug.contains("redis-S3cret"), "{debug}");
        assert!(
            debug.contains("postgres://zizhi:***@db:5432/zizhi"),
            "{debug}"
        );
        assert!(debug.contains("redis://:***@cache:6379/0"), "{debug}");
        assert_eq!(
            redact_url("sqlite://data/zizhi.db"),
            "sqlite://data/zizhi.db"
        );
        assert_eq!(redact_url("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(
            redact_url("postgres://u:p@h/d?x=a@b"),
            "postgres://u:***@h/d?x=a@b"
        );
    }

    #[test]
    fn debug_output_never_shows_the_issuer_token() {
        let s = Settings {
            issuer_token: Some(SecretString::from("hunter2-issuer-token")),
            ..Settings::default()
        };
        let debug = format!("{s:?}");
        assert!(debug.contains("issuer_token"), "{debug}");
        assert!(!debug.contains("hunter2-issuer-token"), "{debug}");
        // Nor does the serialised form (written by `zizhi config` and the defaults layer).
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("hunter2-issuer-token"), "{json}");
    }
}
