//! Who is on the other end: the client address that rate limits, guessing limits and logs
//! key on. Behind reverse proxies the connection comes from the last proxy, and
//! `X-Forwarded-For` lists the addresses the request passed through, each proxy appending the
//! one it accepted the connection from. Everything left of what our own proxies wrote is the
//! client's to choose, so the client is the right-most address that is not one of ours:
//!
//! ```toml
//! [proxy]
//! trusted_hops = 1                       # nginx on the same host, or
//! trusted = ["10.0.0.0/8", "::1/128"]    # the addresses our proxies connect from
//! ```
//!
//! An IPv6 client is keyed by its /64: one subscriber is handed a whole /64 and can rotate
//! through it at will.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::settings::Settings;

/// The client address of a request, as resolved once by [`remember`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Which hops in front of us are our own proxies.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    /// Proxies in a row in front of the server: the client is the `hops`-th entry from the
    /// right of `X-Forwarded-For`.
    hops: usize,
    /// Addresses of our proxies; when set, they decide instead of `hops`.
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    pub fn new(hops: usize, nets: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies { hops, nets }
    }

    /// `[proxy]`, with the older `trust_forwarded_for = true` meaning one hop.
    pub fn from_settings(s: &Settings) -> TrustedProxies {
        let hops = usize::from(s.proxy.trusted_hops).max(usize::from(s.trust_forwarded_for));
        TrustedProxies::new(hops, s.proxy.trusted.clone())
    }

    /// The client's address: `peer` is the connection's, `headers` may hold
    /// `X-Forwarded-For` (several headers count as one list, in order).
    pub fn client(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        if self.hops == 0 && self.nets.is_empty() {
            return peer;
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        if !self.nets.is_empty() {
            // Walk back from the connection while the address is one of our proxies.
            let mut client = peer;
            for entry in forwarded.iter().rev() {
                if !self.trusts(client) {
                    break;
                }
                match entry.parse::<IpAddr>() {
                    Ok(ip) => client = ip,
                    // Our proxy passed on something unreadable: it is the last address we
                    // can vouch for, so the proxy itself is keyed.
                    Err(_) => break,
                }
            }
            return unmap(client);
        }
        // `hops` proxies in a row: the peer is the last, each of the others appended one
        // entry, and the first appended the client.
        let Some(i) = forwarded.len().checked_sub(self.hops) else {
            // Fewer entries than proxies: the request skipped one of them; the left-most
            // entry is the furthest address any proxy of ours wrote.
            return forwarded
                .first()
                .and_then(|e| e.parse().ok())
                .map_or(unmap(peer), unmap);
        };
        forwarded[i].parse().map_or(unmap(peer), unmap)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = unmap(ip);
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// `::ffff:a.b.c.d` is the IPv4 client a dual-stack socket saw.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The key limits count under: an IPv4 address as it is, an IPv6 address by its /64.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match unmap(ip) {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

/// The client of `req`: the one [`remember`] resolved, else resolved now (a router tested
/// on its own has no outer layer).
pub fn of(req: &Request, proxies: &TrustedProxies) -> IpAddr {
    if let Some(ClientAddr(ip)) = req.extensions().get::<ClientAddr>() {
        return *ip;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    proxies.client(req.headers(), peer)
}

/// Outermost request map (`MapRequestLayer`): resolves the client once and puts it in the
/// request's extensions for every limit and handler below.
pub fn remember(proxies: Arc<TrustedProxies>) -> impl Fn(Request) -> Request + Clone {
    move |mut req| {
        let ip = of(&req, &proxies);
        req.extensions_mut().insert(ClientAddr(ip));
        req
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr(IpAddr::from([0, 0, 0, 0]))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for f in forwarded {
            h.append("x-forwarded-for", f.parse().unwrap());
        }
        h
    }

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    fn client(p: &TrustedProxies, forwarded: &[&str]) -> String {
        p.client(&headers(forwarded), PEER).to_string()
    }

    #[test]
    fn with_one_trusted_hop_the_client_is_the_entry_the_proxy_appended() {
        let p = TrustedProxies::new(1, vec![]);
        // The client sent "1.2.3.4"; the proxy appended the address it saw.
        assert_eq!(client(&p, &["1.2.3.4, 198.51.100.9"]), "198.51.100.9");
        assert_eq!(client(&p, &["1.2.3.4", "198.51.100.9"]), "198.51.100.9");
        assert_eq!(client(&p, &["198.51.100.9"]), "198.51.100.9");
        // Garbage or nothing: the connection's address.
        assert_eq!(client(&p, &["1.2.3.4, not-an-address"]), "10.0.0.2");
        assert_eq!(client(&p, &[]), "10.0.0.2");
        // Not behind a trusted proxy: the header is ignored.
        let none = TrustedProxies::default();
        assert_eq!(client(&none, &["198.51.100.9"]), "10.0.0.2");
    }

    #[test]
    fn with_two_hops_the_client_is_the_second_entry_from_the_right() {
        let p = TrustedProxies::new(2, vec![]);
        // A CDN appended the client, then the load balancer appended the CDN.
        assert_eq!(
            client(&p, &["6.6.6.6, 198.51.100.9, 203.0.113.1"]),
            "198.51.100.9"
        );
        assert_eq!(client(&p, &["198.51.100.9"]), "198.51.100.9");
    }

    #[test]
    fn with_trusted_networks_the_client_is_the_right_most_address_not_ours() {
        let nets = vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()];
        let p = TrustedProxies::new(0, nets);
        assert_eq!(
            client(&p, &["6.6.6.6, 198.51.100.9, 10.1.2.3"]),
            "198.51.100.9"
        );
        // Whatever the client prepends, even addresses that look like ours.
        assert_eq!(
            client(&p, &["10.9.9.9, 198.51.100.9, fd00::1"]),
            "198.51.100.9"
        );
        // A peer that is not our proxy is the client, whatever it sends.
        assert_eq!(
            p.client(&headers(&["6.6.6.6"]), "198.51.100.7".parse().unwrap())
                .to_string(),
            "198.51.100.7"
        );
        // Only our proxies in the list: the left-most of them.
        assert_eq!(client(&p, &["10.1.1.1"]), "10.1.1.1");
        // A dual-stack socket's mapped IPv4 address is that IPv4 address.
        assert_eq!(
            client(&p, &["::ffff:198.51.100.9"]),
            "198.51.100.9",
            "mapped"
        );
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(limit_key(a), limit_key(b));
        assert_ne!(limit_key(a), limit_key(other));
        assert_eq!(limit_key(a).to_string(), "2001:db8:1:2::");
        let v4: IpAddr = "198.51.100.9".parse().unwrap();
        assert_eq!(limit_key(v4), v4);
    }
}
