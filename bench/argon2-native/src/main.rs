//! Prints the median time of one `identity::hash_password` and one
//! `identity::verify_password` (Argon2id m=19 MiB, t=2, p=1), compiled natively.

use std::time::Instant;

fn median_ms(mut f: impl FnMut(), runs: usize) -> f64 {
    f(); // warm-up: first-touch of the 19 MiB
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn main() {
    let runs = 15;
    let phc = identity::hash_password("bench-password");
    let hash = median_ms(|| drop(identity::hash_password("bench-password")), runs);
    let verify = median_ms(
        || assert!(identity::verify_password("bench-password", &phc)),
        runs,
    );
    println!("{{\"hash_ms\":{hash:.2},\"verify_ms\":{verify:.2},\"runs\":{runs}}}");
}
