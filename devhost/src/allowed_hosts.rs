//! `allowed_outbound_hosts` checks with the semantics of Spin's outbound
//! networking config: `scheme://host[:port]`, where scheme, host and port may
//! be `*`, host may be `*.domain`, port may be a number or `a..b` range, and an
//! omitted port means the scheme's well-known port.

use anyhow::{Result, bail};

#[derive(Debug, Clone)]
pub struct AllowedHosts {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Debug, Clone)]
enum HostPattern {
    Any,
    Suffix(String),
    Exact(String),
}

#[derive(Debug, Clone)]
enum PortPattern {
    Any,
    Range(u16, u16),
}

fn default_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" => 80,
        "https" => 443,
        "postgres" => 5432,
        "mysql" => 3306,
        "redis" => 6379,
        "mqtt" => 1883,
        _ => return None,
    })
}

/// `postgresql` is another spelling of `postgres` (libpq accepts both).
fn normalize_scheme(s: &str) -> String {
    let s = s.to_ascii_lowercase();
    if s == "postgresql" {
        "postgres".into()
    } else {
        s
    }
}

impl AllowedHosts {
    pub fn parse(entries: &[String]) -> Result<Self> {
        let mut patterns = Vec::new();
        for entry in entries {
            if entry == "insecure:allow-all" {
                patterns.push(Pattern {
                    scheme: None,
                    host: HostPattern::Any,
                    port: PortPattern::Any,
                });
                continue;
            }
            if entry.contains("{{") {
                bail!(
                    "allowed_outbound_hosts entry {entry:?}: variable templates are not supported by devhost"
                );
            }
            let Some((scheme, rest)) = entry.split_once("://") else {
                bail!(
                    "allowed_outbound_hosts entry {entry:?} has no scheme (write e.g. \"https://{entry}\")"
                );
            };
            let rest = rest.trim_end_matches('/');
            if rest.contains('/') {
                bail!("allowed_outbound_hosts entry {entry:?} must not contain a path");
            }
            let scheme = if scheme == "*" {
                None
            } else {
                Some(normalize_scheme(scheme))
            };
            let (host, port) = split_host_port(rest);
            let host = match host {
                "*" => HostPattern::Any,
                h if h.starts_with("*.") => HostPattern::Suffix(h[1..].to_ascii_lowercase()),
                "" => bail!("allowed_outbound_hosts entry {entry:?} has no host"),
                h => HostPattern::Exact(h.to_ascii_lowercase()),
            };
            let port = match port {
                Some("*") => PortPattern::Any,
                Some(p) => match p.split_once("..") {
                    Some((a, b)) => {
                        let (Ok(a), Ok(b)) = (a.parse(), b.parse()) else {
                            bail!("allowed_outbound_hosts entry {entry:?} has a bad port range");
                        };
                        PortPattern::Range(a, b)
                    }
                    None => {
                        let Ok(p) = p.parse() else {
                            bail!("allowed_outbound_hosts entry {entry:?} has a bad port");
                        };
                        PortPattern::Range(p, p)
                    }
                },
                None => match scheme.as_deref().and_then(default_port) {
                    Some(p) => PortPattern::Range(p, p),
                    None => bail!(
                        "allowed_outbound_hosts entry {entry:?} needs an explicit port for its scheme"
                    ),
                },
            };
            patterns.push(Pattern { scheme, host, port });
        }
        Ok(AllowedHosts { patterns })
    }

    /// Is `scheme://host:port` allowed? A missing port means the scheme's default.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let scheme = normalize_scheme(scheme);
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let Some(port) = port.or_else(|| default_port(&scheme)) else {
            return false;
        };
        self.patterns.iter().any(|p| {
            p.scheme.as_ref().is_none_or(|s| *s == scheme)
                && match &p.host {
                    HostPattern::Any => true,
                    HostPattern::Suffix(suffix) => host.ends_with(suffix.as_str()),
                    HostPattern::Exact(h) => {
                        h.trim_start_matches('[').trim_end_matches(']') == host
                    }
                }
                && match p.port {
                    PortPattern::Any => true,
                    PortPattern::Range(a, b) => (a..=b).contains(&port),
                }
        })
    }
}

fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if let Some(end) = s.strip_prefix('[').and_then(|r| r.find(']')) {
        // [ipv6]:port
        let host = &s[..end + 2];
        let rest = &s[end + 2..];
        return (host, rest.strip_prefix(':'));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ah(v: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn postgres_wildcards() {
        let a = ah(&["postgres://*:*"]);
        assert!(a.allows("postgres", "db.example.com", Some(6543)));
        assert!(a.allows("postgresql", "127.0.0.1", None));
        assert!(!a.allows("https", "example.com", None));
        let b = ah(&["postgresql://db.local"]);
        assert!(b.allows("postgres", "db.local", None));
        assert!(!b.allows("postgres", "db.local", Some(5433)));
    }

    #[test]
    fn http_patterns() {
        let a = ah(&[
            "https://*.example.com",
            "http://localhost:8000..8010",
            "*://any.host:*",
        ]);
        assert!(a.allows("https", "api.example.com", None));
        assert!(!a.allows("https", "example.org", None));
        assert!(a.allows("http", "localhost", Some(8005)));
        assert!(!a.allows("http", "localhost", Some(8011)));
        assert!(a.allows("redis", "any.host", Some(1)));
        assert!(ah(&[]).patterns.is_empty());
        assert!(!ah(&[]).allows("https", "x", None));
        assert!(AllowedHosts::parse(&["example.com".to_string()]).is_err());
        assert!(AllowedHosts::parse(&["foo://h".to_string()]).is_err());
    }
}
