//! Route matching with the semantics of Spin's HTTP trigger.
//!
//! * `/foo` matches `/foo` and `/foo/` (a single trailing slash is ignored).
//! * `/foo/...` matches `/foo`, `/foo/` and everything below; the part after
//!   the prefix becomes `spin-path-info` (`""`, `"/"`, `"/bar"`, `"/bar/"`).
//! * `:name` segments match exactly one non-empty segment.
//! * The most specific route wins, compared segment by segment (literal beats
//!   `:name` beats wildcard); with equal kinds the shorter pattern wins, so an
//!   exact route beats a wildcard route with the same prefix.
//! * Routes are de-duplicated by their text: the last one declared wins.

use std::cmp::Ordering;
use std::net::SocketAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Literal(String),
    Param(String),
}

#[derive(Debug, Clone)]
pub struct Route {
    /// The route as written in the manifest (`raw_route` in Spin).
    pub raw: String,
    pub component: String,
    segments: Vec<Seg>,
    wildcard: bool,
}

#[derive(Debug, Clone)]
pub struct Router {
    routes: Vec<Route>,
}

#[derive(Debug)]
pub struct RouteMatch<'a> {
    pub route: &'a Route,
    pub path_info: String,
    pub captures: Vec<(String, String)>,
}

/// Specificity rank of a pattern group; lower is more specific.
fn rank(seg: Option<&Seg>, wildcard_here: bool) -> u8 {
    match seg {
        Some(Seg::Literal(_)) => 0,
        Some(Seg::Param(_)) => 1,
        None if wildcard_here => 2,
        None => 3,
    }
}

impl Route {
    fn parse(raw: &str, component: &str) -> Route {
        // Spin makes the route absolute and strips one trailing slash.
        let mut based = if raw.starts_with('/') {
            raw.to_string()
        } else {
            format!("/{raw}")
        };
        if based.len() > 1 && based.ends_with('/') {
            based.pop();
        }
        let (prefix, wildcard) = match based.strip_suffix("/...") {
            Some(p) => (p.to_string(), true),
            None if based == "/..." => (String::new(), true),
            None => (based.clone(), false),
        };
        let segments = prefix
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix(':') {
                Some(name) => Seg::Param(name.to_string()),
                None => Seg::Literal(s.to_string()),
            })
            .collect();
        Route {
            raw: raw.to_string(),
            component: component.to_string(),
            segments,
            wildcard,
        }
    }

    /// The route without its trailing `/...` (`spin-component-route`).
    pub fn raw_or_prefix(&self) -> &str {
        self.raw.strip_suffix("/...").unwrap_or(&self.raw)
    }

    /// How Spin prints a route at startup: `/foo (wildcard)` or `/foo`.
    pub fn display(&self) -> String {
        let mut s = String::new();
        for seg in &self.segments {
            s.push('/');
            match seg {
                Seg::Literal(l) => s.push_str(l),
                Seg::Param(p) => {
                    s.push(':');
                    s.push_str(p);
                }
            }
        }
        if self.wildcard {
            format!("{s} (wildcard)")
        } else if s.is_empty() {
            "/".to_string()
        } else {
            s
        }
    }

    fn matches(&self, path: &str) -> Option<(String, Vec<(String, String)>)> {
        let mut rest = path;
        let mut captures = Vec::new();
        for seg in &self.segments {
            let after_slash = rest.strip_prefix('/')?;
            let end = after_slash.find('/').unwrap_or(after_slash.len());
            let piece = &after_slash[..end];
            match seg {
                Seg::Literal(l) if l == piece => {}
                Seg::Param(name) if !piece.is_empty() => {
                    captures.push((name.clone(), piece.to_string()));
                }
                _ => return None,
            }
            rest = &after_slash[end..];
        }
        if self.wildcard {
            // `rest` is empty or starts with '/': Spin reports it verbatim.
            if rest.is_empty() || rest.starts_with('/') {
                Some((rest.to_string(), captures))
            } else {
                None
            }
        } else if rest.is_empty() || rest == "/" {
            Some((String::new(), captures))
        } else {
            None
        }
    }

    fn specificity_cmp(&self, other: &Route) -> Ordering {
        let n = self.segments.len().max(other.segments.len()) + 1;
        for i in 0..n {
            let a = rank(
                self.segments.get(i),
                self.wildcard && i == self.segments.len(),
            );
            let b = rank(
                other.segments.get(i),
                other.wildcard && i == other.segments.len(),
            );
            if a == 3 || b == 3 {
                break;
            }
            match a.cmp(&b) {
                Ordering::Equal => continue,
                unequal => return unequal,
            }
        }
        let groups = |r: &Route| r.segments.len() + usize::from(r.wildcard);
        groups(self).cmp(&groups(other))
    }
}

impl Router {
    pub fn new(triggers: &[(String, String)]) -> Router {
        let mut routes: Vec<Route> = Vec::new();
        for (raw, component) in triggers {
            let route = Route::parse(raw, component);
            if let Some(existing) = routes.iter_mut().find(|r| r.raw == route.raw) {
                eprintln!(
                    "devhost: warning: route {raw:?} of component {:?} is a duplicate; {component:?} handles it",
                    existing.component
                );
                *existing = route;
            } else {
                routes.push(route);
            }
        }
        Router { routes }
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub fn route(&self, path: &str) -> Option<RouteMatch<'_>> {
        let mut best: Option<RouteMatch<'_>> = None;
        for route in &self.routes {
            if let Some((path_info, captures)) = route.matches(path) {
                let better = match &best {
                    None => true,
                    Some(b) => route.specificity_cmp(b.route) == Ordering::Less,
                };
                if better {
                    best = Some(RouteMatch {
                        route,
                        path_info,
                        captures,
                    });
                }
            }
        }
        best
    }
}

/// The `spin-*` request headers Spin's HTTP trigger adds for a matched route.
pub fn spin_headers(
    m: &RouteMatch<'_>,
    full_url: &str,
    client_addr: SocketAddr,
) -> Vec<(String, String)> {
    let mut h = vec![
        ("spin-path-info".to_string(), m.path_info.clone()),
        ("spin-full-url".to_string(), full_url.to_string()),
        ("spin-matched-route".to_string(), m.route.raw.clone()),
        ("spin-base-path".to_string(), "/".to_string()),
        ("spin-raw-component-route".to_string(), m.route.raw.clone()),
        (
            "spin-component-route".to_string(),
            m.route.raw_or_prefix().to_string(),
        ),
        ("spin-client-addr".to_string(), client_addr.to_string()),
    ];
    for (name, value) in &m.captures {
        h.push((
            format!(
                "spin-path-match-{}",
                name.to_ascii_lowercase().replace('_', "-")
            ),
            value.clone(),
        ));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        Router::new(
            &routes
                .iter()
                .map(|(r, c)| (r.to_string(), c.to_string()))
                .collect::<Vec<_>>(),
        )
    }

    fn hit(r: &Router, path: &str) -> Option<(String, String)> {
        r.route(path)
            .map(|m| (m.route.component.clone(), m.path_info.clone()))
    }

    #[test]
    fn exact_and_trailing_slash() {
        let r = router(&[("/foo", "foo"), ("/foo/bar", "foobar")]);
        assert_eq!(hit(&r, "/foo").unwrap().0, "foo");
        assert_eq!(hit(&r, "/foo/").unwrap().0, "foo");
        assert_eq!(hit(&r, "/foo/bar").unwrap().0, "foobar");
        assert!(hit(&r, "/foo/baz").is_none());
        assert!(hit(&r, "/").is_none());
    }

    #[test]
    fn wildcard_path_info_like_spin() {
        let r = router(&[("/test/...", "t")]);
        assert_eq!(hit(&r, "/test").unwrap().1, "");
        assert_eq!(hit(&r, "/test/").unwrap().1, "/");
        assert_eq!(hit(&r, "/test/hello").unwrap().1, "/hello");
        assert_eq!(hit(&r, "/test/hello/").unwrap().1, "/hello/");
        assert!(hit(&r, "/testing").is_none());
        let all = router(&[("/...", "all")]);
        assert_eq!(hit(&all, "/").unwrap().1, "/");
        assert_eq!(hit(&all, "/1/2/3").unwrap().1, "/1/2/3");
    }

    #[test]
    fn most_specific_wins() {
        let r = router(&[
            ("/...", "all"),
            ("/one/...", "one"),
            ("/one/two/...", "two"),
            ("/one/two/three/...", "three"),
            ("/one", "one_exact"),
            ("/api/v1/users", "users"),
            ("/api/v1/users/...", "users_wild"),
        ]);
        assert_eq!(hit(&r, "/one/two/three/four").unwrap().0, "three");
        assert_eq!(hit(&r, "/one/two").unwrap().0, "two");
        assert_eq!(hit(&r, "/one").unwrap().0, "one_exact");
        assert_eq!(hit(&r, "/one/x").unwrap().0, "one");
        assert_eq!(hit(&r, "/other").unwrap().0, "all");
        assert_eq!(hit(&r, "/api/v1/users").unwrap().0, "users");
        assert_eq!(hit(&r, "/api/v1/users/").unwrap().0, "users");
        assert_eq!(hit(&r, "/api/v1/users/42").unwrap().0, "users_wild");
    }

    #[test]
    fn named_segments_and_duplicates() {
        let r = router(&[
            ("/u/:id/...", "u"),
            ("/u/me", "me"),
            ("/d", "first"),
            ("/d", "second"),
        ]);
        let m = r.route("/u/42/x").unwrap();
        assert_eq!(m.captures, vec![("id".to_string(), "42".to_string())]);
        assert_eq!(m.path_info, "/x");
        assert_eq!(hit(&r, "/u/me").unwrap().0, "me");
        assert_eq!(hit(&r, "/d").unwrap().0, "second");
        assert_eq!(r.routes().len(), 3);
    }

    #[test]
    fn headers() {
        let r = router(&[("/foo/...", "c")]);
        let m = r.route("/foo/bar").unwrap();
        let h = spin_headers(
            &m,
            "http://h/foo/bar?x=1",
            "127.0.0.1:8777".parse().unwrap(),
        );
        let get = |n: &str| h.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get("spin-path-info"), "/bar");
        assert_eq!(get("spin-matched-route"), "/foo/...");
        assert_eq!(get("spin-component-route"), "/foo");
        assert_eq!(get("spin-raw-component-route"), "/foo/...");
        assert_eq!(get("spin-base-path"), "/");
        assert_eq!(get("spin-client-addr"), "127.0.0.1:8777");
        assert_eq!(get("spin-full-url"), "http://h/foo/bar?x=1");
    }
}
