//! Routing inside a component: Spin hands the component every path under its route
//! prefixes; this table picks the handler. A trailing slash is ignored, so collection
//! paths answer the same with or without it, with no redirect.

use crate::HandlerResult;
use crate::context::Ctx;

pub type Handler = fn(&Ctx) -> HandlerResult;

pub struct Route {
    pub method: &'static str,
    /// `/api/v1/cars/{car_id}`: also the `route` label of metrics and logs.
    pub template: &'static str,
    pub handler: Handler,
}

impl Route {
    pub const fn get(template: &'static str, handler: Handler) -> Route {
        Route {
            method: "GET",
            template,
            handler,
        }
    }
    pub const fn post(template: &'static str, handler: Handler) -> Route {
        Route {
            method: "POST",
            template,
            handler,
        }
    }
    pub const fn put(template: &'static str, handler: Handler) -> Route {
        Route {
            method: "PUT",
            template,
            handler,
        }
    }
    pub const fn delete(template: &'static str, handler: Handler) -> Route {
        Route {
            method: "DELETE",
            template,
            handler,
        }
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
        if let Some(params) = capture(route.template, path) {
            if route.method == method {
                return Match::Found(route, params);
            }
            wrong_method.get_or_insert(route.template);
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

    const ROUTES: &[Route] = &[
        Route::get("/api/v1/cars", ok),
        Route::post("/api/v1/cars", ok),
        Route::get("/api/v1/cars/{car_id}", ok),
    ];

    #[test]
    fn trailing_slash_and_params() {
        assert!(
            matches!(find(ROUTES, "GET", "/api/v1/cars/"), Match::Found(r, _) if r.template == "/api/v1/cars")
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
