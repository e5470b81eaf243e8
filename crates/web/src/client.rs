//! Who is on the other end: the client address that login throttling counts by.
//!
//! Spin tells a component its peer in the `spin-client-addr` header (`ip:port`), which
//! it sets itself, replacing any a client sent. Behind a reverse proxy or load balancer
//! the peer is the proxy: when the peer is in `trusted_proxies` (CIDRs, default none),
//! the client is the last address of `X-Forwarded-For` that is not itself a trusted
//! proxy (each proxy appends the address it saw, so the addresses on the right are the
//! ones our own proxies wrote; anything to the left of the first untrusted one may be
//! made up by the client).

use std::net::IpAddr;

/// An address range: `10.0.0.0/8`, `fd00::/8`, or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().ok()?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Cidr { network, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, canonical(address)) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// `trusted_proxies`: a list as `parse_list` reads it; entries that are not CIDRs are
/// skipped (trusting nothing for them is the safe reading of a typo).
pub fn parse_cidrs(items: &[String]) -> Vec<Cidr> {
    items.iter().filter_map(|i| Cidr::parse(i)).collect()
}

/// The client address of a request whose peer is `spin_client_addr` (`ip:port` or
/// `[v6]:port`), given the `X-Forwarded-For` header and the trusted proxies. `None`
/// when the host gave no usable peer address.
pub fn client_address(
    spin_client_addr: Option<&str>,
    forwarded_for: Option<&str>,
    trusted: &[Cidr],
) -> Option<IpAddr> {
    let peer = canonical(parse_socket_ip(spin_client_addr?)?);
    if !is_trusted(peer, trusted) {
        return Some(peer);
    }
    let hops: Vec<IpAddr> = forwarded_for
        .unwrap_or_default()
        .split(',')
        .filter_map(|hop| parse_socket_ip(hop.trim()).map(canonical))
        .collect();
    // Right to left: the first address our proxies did not write is the client; if all
    // are proxies, the leftmost is as close to the client as we can know.
    Some(
        hops.iter()
            .rev()
            .find(|hop| !is_trusted(**hop, trusted))
            .or(hops.first())
            .copied()
            .unwrap_or(peer),
    )
}

fn is_trusted(address: IpAddr, trusted: &[Cidr]) -> bool {
    trusted.iter().any(|cidr| cidr.contains(address))
}

/// `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]:80`.
fn parse_socket_ip(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    text.rsplit_once(':')?.0.parse().ok()
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as the IPv4 address they are.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidrs(items: &[&str]) -> Vec<Cidr> {
        items.iter().map(|i| Cidr::parse(i).unwrap()).collect()
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn cidr_ranges() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.200.1.1".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(
            Cidr::parse("fd00::/8")
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(
            Cidr::parse("192.168.1.7")
                .unwrap()
                .contains("192.168.1.7".parse().unwrap())
        );
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0/8", "::/129"] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_peer_is_the_client_unless_it_is_a_trusted_proxy() {
        let none: Vec<Cidr> = vec![];
        // Without trusted proxies, X-Forwarded-For is the client's own claim: ignored.
        assert_eq!(
            client_address(Some("203.0.113.9:5123"), Some("1.1.1.1"), &none),
            ip("203.0.113.9")
        );
        let proxies = cidrs(&["10.0.0.0/8"]);
        assert_eq!(
            client_address(Some("10.0.0.5:40000"), Some("198.51.100.7"), &proxies),
            ip("198.51.100.7")
        );
        // A client-made entry on the left does not help: the last untrusted one counts.
        assert_eq!(
            client_address(
                Some("10.0.0.5:40000"),
                Some("6.6.6.6, 198.51.100.7, 10.0.0.9"),
                &proxies
            ),
            ip("198.51.100.7")
        );
        // An untrusted peer's X-Forwarded-For is ignored.
        assert_eq!(
            client_address(Some("198.51.100.8:1"), Some("6.6.6.6"), &proxies),
            ip("198.51.100.8")
        );
        assert_eq!(client_address(Some("[::1]:3000"), None, &none), ip("::1"));
        assert_eq!(client_address(None, Some("1.1.1.1"), &proxies), None);
        // A trusted peer without the header is itself the best we know.
        assert_eq!(
            client_address(Some("10.0.0.5:1"), None, &proxies),
            ip("10.0.0.5")
        );
    }
}
