//! What a cluster needs from the app: Prometheus scrapes `/metrics` by pod IP (each
//! replica serves its own counters) or through a Service name, and kubelets probe the health routes by pod IP, while
//! `allowed_hosts` lists only the public name (API.md, "Cross-origin and hosts",
//! revision 2). Every other route keeps the host check.

use e2e_tests::*;

/// Names a scraper or a kubelet puts in `Host`: the Service, its cluster-wide names,
/// pod IPs (v4 and v6), with and without a port.
const CLUSTER_HOSTS: &[&str] = &[
    "car-api",
    "car-api.car-api.svc",
    "car-api.car-api.svc.cluster.local:80",
    "10.42.0.17",
    "10.42.0.17:80",
    "[fd00:10:42::17]:80",
];

async fn get_with_host(app: &TestApp, path: &str, host: &str) -> Resp {
    app.send(app.request(Method::GET, path).header("host", host))
        .await
}

async fn public_host_only() -> TestApp {
    // Only the public name: the harness's own 127.0.0.1 is not allowed either.
    TestApp::spawn(
        Backend::Sqlite,
        Options::new().allowed_hosts("api.example.com"),
    )
    .await
}

#[tokio::test]
async fn metrics_answer_the_service_name_and_pod_ips() {
    let app = public_host_only().await;
    // Something to count first, through the public name.
    get_with_host(&app, "/api/v1/users/", "api.example.com")
        .await
        .assert_status(200);
    for host in CLUSTER_HOSTS.iter().copied().chain(["127.0.0.1"]) {
        let r = get_with_host(&app, "/metrics", host).await;
        assert_eq!(r.status, 200, "Host {host}: {}", r.text());
        assert!(
            r.header("content-type")
                .unwrap_or_default()
                .starts_with("text/plain; version=0.0.4"),
            "Host {host}: {:?}",
            r.header("content-type")
        );
        let text = r.text();
        assert!(
            text.contains("# TYPE http_requests_total counter"),
            "Host {host}: {text}"
        );
        assert!(
            text.lines().any(|l| l.starts_with("http_requests_total{")
                && l.contains("route=\"/api/v1/users\"")
                && l.contains("status=\"200\"")),
            "Host {host}: the request through the public name is counted: {text}"
        );
    }
}

#[tokio::test]
async fn probes_answer_pod_ips() {
    let app = public_host_only().await;
    for host in CLUSTER_HOSTS {
        for path in ["/health_check", "/health_check/detailed"] {
            let r = get_with_host(&app, path, host).await;
            assert_eq!(r.status, 200, "{path} with Host {host}: {}", r.text());
        }
    }
}

#[tokio::test]
async fn every_other_route_keeps_the_host_check() {
    let app = public_host_only().await;
    get_with_host(&app, "/api/v1/users/", "api.example.com")
        .await
        .assert_status(200);
    get_with_host(&app, "/openapi.json", "api.example.com")
        .await
        .assert_status(200);
    for host in CLUSTER_HOSTS {
        for path in [
            "/api/v1/users/",
            "/openapi.json",
            "/metrics/extra",
            "/no-such-path",
        ] {
            let r = get_with_host(&app, path, host).await;
            assert_eq!(r.status, 400, "{path} with Host {host}: {}", r.text());
            r.assert_error(400, "Invalid host header")
                .assert_security_headers();
        }
    }
}
