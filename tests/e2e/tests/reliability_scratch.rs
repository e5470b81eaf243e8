use std::time::{Duration, Instant};
use e2e_tests::chaos::{self, PrivatePg};
use e2e_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scratch_pool() { run(false).await; run(true).await; }
async fn run(redis: bool) {
    let pg = PrivatePg::start(&[]).unwrap();
    pg.migrate("postgres").unwrap();
    let app = TestApp::spawn(Backend::Sqlite, { let o = Options::new().database_url(&pg.url("postgres")); if redis { o.redis() } else { o } }).await;
    let u = app.new_user().await;
    let client = reqwest::Client::builder().pool_max_idle_per_host(400).build().unwrap();
    for (path, n) in [("/health_check", 1usize), ("/health_check", 64), ("/api/v1/cars/?limit=5", 64)] {
        let t0 = Instant::now();
        let futs = (0..n).map(|_| {
            let c = client.clone(); let url = app.url(path); let tok = u.token.clone();
            async move { let t = Instant::now(); let r = c.get(url).bearer_auth(tok).timeout(Duration::from_secs(30)).send().await; (r.map(|r| r.status().as_u16()).unwrap_or(0), t.elapsed()) }
        });
        let res = futures::future::join_all(futs).await;
        let mut lat: Vec<Duration> = res.iter().map(|r| r.1).collect();
        let mut st = std::collections::BTreeMap::new();
        for r in &res { *st.entry(r.0).or_insert(0) += 1; }
        eprintln!("redis={redis} {path} n={n}: total {:?} statuses {st:?} p50 {:?} max {:?}", t0.elapsed(), chaos::percentile(&mut lat, 50.0), lat.iter().max().unwrap());
    }
    let logs = app.logs();
    let causes: std::collections::BTreeSet<String> = logs.lines().filter(|l| l.contains("request failed")).map(|l| l.chars().take(400).collect()).collect();
    for c in causes.iter().take(5) { eprintln!("{c}"); }
}
