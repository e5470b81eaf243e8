//! The Spin variables this service reads, parsed in one place.

use std::cell::OnceCell;

use crate::log::Level;

/// Reads a component variable; an undeclared or unset one is `None`.
pub fn variable(name: &str) -> Option<String> {
    spin_sdk::variables::get(name).ok()
}

/// `database_url`, defaulting to Spin's embedded SQLite database as spin.toml does.
pub fn database_url() -> String {
    variable("database_url").unwrap_or_else(|| "sqlite://default".into())
}

/// Settings every component applies to every request. Each Spin variable read is a host
/// call (about 5 µs on Spin 4.0.2), so only `log_level`, which every request's log line
/// needs, is read up front; the lists are read the first time a request needs them (a
/// probe never checks its Host, and CORS is looked at only when an `Origin` is sent).
#[derive(Debug, Clone)]
pub struct Settings {
    pub log_level: Level,
    cors_origins: OnceCell<Vec<String>>,
    allowed_hosts: OnceCell<Vec<String>>,
}

impl Settings {
    pub fn load() -> Settings {
        Settings {
            log_level: variable("log_level")
                .and_then(|l| Level::parse(&l))
                .unwrap_or(Level::Info),
            cors_origins: OnceCell::new(),
            allowed_hosts: OnceCell::new(),
        }
    }

    /// `cors_origins`; empty means CORS is off.
    pub fn cors_origins(&self) -> &[String] {
        self.cors_origins
            .get_or_init(|| parse_list(&variable("cors_origins").unwrap_or_default()))
    }

    /// `allowed_hosts`; an empty setting means `*`.
    fn allowed_hosts(&self) -> &[String] {
        self.allowed_hosts.get_or_init(|| {
            let hosts = parse_list(&variable("allowed_hosts").unwrap_or_default());
            if hosts.is_empty() {
                vec!["*".into()]
            } else {
                hosts
            }
        })
    }

    /// Is this `Host` header (port ignored) one we serve? `*` allows all; `*.example.com`
    /// allows any subdomain of example.com.
    pub fn host_allowed(&self, host: Option<&str>) -> bool {
        let allowed = self.allowed_hosts();
        if allowed.iter().any(|h| h == "*") {
            return true;
        }
        let Some(host) = host else { return false };
        let host = strip_port(host).to_ascii_lowercase();
        allowed.iter().any(|pattern| {
            let pattern = pattern.to_ascii_lowercase();
            match pattern.strip_prefix('*') {
                Some(suffix) => host.ends_with(suffix),
                None => host == pattern,
            }
        })
    }

    /// Listed by name, or allowed by `*`.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.cors_origins().iter().any(|o| o == "*") || self.origin_listed(origin)
    }

    /// Listed by name: the only origins that get `Access-Control-Allow-Credentials`.
    pub fn origin_listed(&self, origin: &str) -> bool {
        self.cors_origins()
            .iter()
            .any(|o| o != "*" && o.trim_end_matches('/') == origin)
    }
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // [::1]:8080
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
}

/// A list given as a JSON array (`["a", "b"]`, as in the old service's environment
/// files) or as a comma-separated string.
pub fn parse_list(text: &str) -> Vec<String> {
    let text = text.trim();
    if text.starts_with('[')
        && let Ok(items) = serde_json::from_str::<Vec<String>>(text)
    {
        return items
            .into_iter()
            .map(|i| i.trim().to_string())
            .filter(|i| !i.is_empty())
            .collect();
    }
    text.split(',')
        .map(|i| i.trim().trim_matches('"').to_string())
        .filter(|i| !i.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(hosts: &[&str]) -> Settings {
        Settings {
            log_level: Level::Info,
            cors_origins: OnceCell::from(vec![]),
            allowed_hosts: OnceCell::from(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>()),
        }
    }

    #[test]
    fn lists_in_both_notations() {
        assert_eq!(
            parse_list(r#"["https://a.example", "https://b.example"]"#),
            vec!["https://a.example", "https://b.example"]
        );
        assert_eq!(
            parse_list("https://a.example, https://b.example"),
            vec!["https://a.example", "https://b.example"]
        );
        assert!(parse_list("").is_empty());
    }

    #[test]
    fn host_matching() {
        let s = settings(&["api.example.com", "*.example.org"]);
        assert!(s.host_allowed(Some("api.example.com:8080")));
        assert!(s.host_allowed(Some("a.example.org")));
        assert!(!s.host_allowed(Some("example.org")));
        assert!(!s.host_allowed(Some("evil.com")));
        assert!(!s.host_allowed(None));
        assert!(settings(&["*"]).host_allowed(Some("anything")));
        assert!(settings(&["::1"]).host_allowed(Some("[::1]:3000")));
    }
}
