//! Routing inside a component: Spin hands the component every path under its route
//! prefixes; this table picks the handler. A trailing slash is ignored, so collection
//! paths answer the same with or without it, with no redirect.

use crate::HandlerResult;
use crate::api::Endpoint;
use crate::context::Ctx;

pub type Handler = fn(&Ctx) -> HandlerResult;

/// An endpoint of the catalog (`crate::api`) and the function that serves it.
pub struct Route {
    pub endpoint: &'static Endpoint,
    pub handler: Handler,
}

impl Route {
    pub const fn new(endpoint: &'static Endpoint, handler: Handler) -> Route {
        Route { endpoint, handler }
    }

    pub fn method(&self) -> &'static str {
        self.endpoint.method
    }

    /// `/api/v1/cars/{car_id}`: also the `route` label of metrics and logs.
    pub fn template(&self) -> &'static str {
        self.endpoint.template
    }
}

/// Path parameters captured by a template, in order.
pub type Params = Vec<(&'static str, String)>;

pub enum Match<'r> {
    Found(&'r Route, Params),
    /// The path exists, but not for this method: 405, with the template for the logs.
    WrongMethod(&'static str),
    NotFound,
}

pub fn find<'r>(routes: &'r [Route], method: &str, path: &str) -> Match<'r> {
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    let mut wrong_method = None;
    for route in routes {
        if let Some(params) = capture(route.template(), path) {
            if route.method() == method {
                return Match::Found(route, params);
            }
            wrong_method.get_or_insert(route.template());
        }
    }
    wrong_method.map_or(Match::NotFound, Match::WrongMethod)
}

fn capture(template: &'static str, path: &str) -> Option<Params> {
    let mut params = Vec::new();
    let mut template_parts = template.split('/');
    let mut path_parts = path.split('/');
    loop {
        match (template_parts.next(), path_parts.next()) {
            (None, None) => return Some(params),
            (Some(t), Some(p)) => {
                if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    if p.is_empty() {
                        return None;
                    }
                    params.push((name, p.to_string()));
                } else if t != p {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpResponse;

    fn ok(_: &Ctx) -> HandlerResult {
        Ok(HttpResponse::no_content())
    }

    use crate::api;

    const ROUTES: &[Route] = &[
        Route::new(&api::CAR_LIST, ok),
        Route::new(&api::CAR_CREATE, ok),
        Route::new(&api::CAR_GET, ok),
    ];

    #[test]
    fn trailing_slash_and_params() {
        assert!(
            matches!(find(ROUTES, "GET", "/api/v1/cars/"), Match::Found(r, _) if r.template() == "/api/v1/cars")
        );
        match find(ROUTES, "GET", "/api/v1/cars/42") {
            Match::Found(_, params) => assert_eq!(params, vec![("car_id", "42".to_string())]),
            _ => panic!("no match"),
        }
        assert!(matches!(
            find(ROUTES, "DELETE", "/api/v1/cars"),
            Match::WrongMethod("/api/v1/cars")
        ));
        assert!(matches!(
            find(ROUTES, "GET", "/api/v1/cars/1/x"),
            Match::NotFound
        ));
        assert!(matches!(
            find(ROUTES, "GET", "/api/v1/cars//"),
            Match::NotFound
        ));
    }
}
