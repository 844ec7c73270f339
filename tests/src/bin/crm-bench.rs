//! Latency benchmark of the customer endpoints over HTTP with a real token: sequential
//! requests (so each figure is one request's latency, not a queue's), reported as median,
//! p90, p99 and max. Run it against a server loaded with `crm demo-data`; `bench/run.sh`
//! does the whole dance on SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Args {
    url: String,
    username: String,
    password: String,
    requests: usize,
    tag: String,
    tier: String,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        url: "http://127.0.0.1:8080".to_owned(),
        username: "admin".to_owned(),
        password: std::env::var("CRM_BENCH_PASSWORD").unwrap_or_default(),
        requests: 2000,
        tag: "高潜力客户".to_owned(),
        tier: "key".to_owned(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value()?,
            "--username" => args.username = value()?,
            "--password" => args.password = value()?,
            "--requests" => {
                args.requests = value()?.parse().map_err(|_| "--requests takes a number")?
            }
            "--tag" => args.tag = value()?,
            "--tier" => args.tier = value()?,
            "--help" | "-h" => {
                return Err("usage: crm-bench [--url URL] [--username U] [--password P | CRM_BENCH_PASSWORD] \
                            [--requests N] [--tag NAME] [--tier TIER]"
                    .to_owned());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| {
        let idx = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[idx].as_secs_f64() * 1000.0
    };
    let total: Duration = samples.iter().sum();
    println!(
        "{name:<48} n={:<6} median={:>6.2} ms  p90={:>6.2} ms  p99={:>6.2} ms  max={:>7.2} ms  ({:.0} req/s sequential)",
        samples.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
        samples.len() as f64 / total.as_secs_f64()
    );
}

async fn timed(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<(Duration, Value), String> {
    let started = Instant::now();
    let response = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    let took = started.elapsed();
    if !status.is_success() {
        return Err(format!("{url}: {status} {body}"));
    }
    Ok((took, body))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args = args()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .map_err(|e| e.to_string())?;
    let login: Value = client
        .post(format!("{}/api/v1/auth/login", args.url))
        .json(&json!({"username": args.username, "password": args.password}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let token = login["access_token"]
        .as_str()
        .ok_or(format!("login failed: {login}"))?
        .to_owned();

    // A spread of ids: first pages in several orders.
    let mut ids = Vec::new();
    for sort in ["name", "-name", "created_at", "-created_at", "updated_at"] {
        let (_, page) = timed(
            &client,
            &format!("{}/api/v1/customers?limit=200&sort={sort}", args.url),
            &token,
        )
        .await?;
        ids.extend(
            page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["id"].as_str().map(str::to_owned)),
        );
    }
    if ids.is_empty() {
        return Err("no customers: load some with `crm demo-data` first".to_owned());
    }
    let list_url = format!(
        "{}/api/v1/customers?tag={}&tier={}&limit=50",
        args.url,
        url_escape(&args.tag),
        url_escape(&args.tier)
    );
    let (_, first) = timed(&client, &list_url, &token).await?;
    println!(
        "{} customer ids sampled; the list returns {} items per page",
        ids.len(),
        first["items"].as_array().map_or(0, Vec::len)
    );

    // Warm-up.
    for id in ids.iter().take(200) {
        timed(
            &client,
            &format!("{}/api/v1/customers/{id}", args.url),
            &token,
        )
        .await?;
        timed(&client, &list_url, &token).await?;
    }

    let mut get_samples = Vec::with_capacity(args.requests);
    for n in 0..args.requests {
        let id = &ids[n % ids.len()];
        get_samples.push(
            timed(
                &client,
                &format!("{}/api/v1/customers/{id}", args.url),
                &token,
            )
            .await?
            .0,
        );
    }
    report("GET /api/v1/customers/{id}", get_samples);

    let mut list_samples = Vec::with_capacity(args.requests);
    for _ in 0..args.requests {
        list_samples.push(timed(&client, &list_url, &token).await?.0);
    }
    report(
        &format!("GET /api/v1/customers?tag=…&tier={}&limit=50", args.tier),
        list_samples,
    );
    Ok(())
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
