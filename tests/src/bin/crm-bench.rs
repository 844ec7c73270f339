//! Latency benchmark over HTTP with a real token: sequential requests (so each figure is one
//! request's latency, not a queue's), reported as median, p90, p99 and max — the customer
//! get and list, the weighted forecast — and the lead import: 10 requests of 1,000 leads,
//! validated, checked for duplicates against every customer and routed by the rules, timed
//! as a whole. Run it against a server loaded with `crm demo-data`; `bench/run.sh` does the
//! whole dance on SQLite and PostgreSQL, with a plain `COPY` of the same leads beside it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Args {
    url: String,
    username: String,
    password: String,
    requests: usize,
    tag: String,
    tier: String,
    import_batches: usize,
    import_rows: usize,
    csv_out: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        url: "http://127.0.0.1:8080".to_owned(),
        username: "admin".to_owned(),
        password: std::env::var("CRM_BENCH_PASSWORD").unwrap_or_default(),
        requests: 2000,
        tag: "高潜力客户".to_owned(),
        tier: "key".to_owned(),
        import_batches: 10,
        import_rows: 1000,
        csv_out: None,
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
            "--import-batches" => {
                args.import_batches = value()?
                    .parse()
                    .map_err(|_| "--import-batches takes a number")?
            }
            "--import-rows" => {
                args.import_rows = value()?
                    .parse()
                    .map_err(|_| "--import-rows takes a number")?
            }
            "--csv-out" => args.csv_out = Some(value()?),
            "--help" | "-h" => {
                return Err("usage: crm-bench [--url URL] [--username U] [--password P | CRM_BENCH_PASSWORD] \
                            [--requests N] [--tag NAME] [--tier TIER] [--import-batches N] \
                            [--import-rows N] [--csv-out FILE]"
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

    for group in ["owner", "month"] {
        let url = format!("{}/api/v1/reports/forecast?group_by={group}", args.url);
        let (_, first) = timed(&client, &url, &token).await?;
        let mut samples = Vec::with_capacity(args.requests / 10);
        for _ in 0..(args.requests / 10).max(20) {
            samples.push(timed(&client, &url, &token).await?.0);
        }
        report(
            &format!(
                "GET /api/v1/reports/forecast?group_by={group} ({} groups)",
                first["groups"].as_array().map_or(0, Vec::len)
            ),
            samples,
        );
    }

    // Mobiles of existing customers' contacts, so that some leads are duplicates.
    let known: Vec<String> = first["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["contacts"][0]["mobile"].as_str().map(str::to_owned))
        .collect();
    import_leads(&client, &args, &token, &known).await
}

/// Sends `import_batches` JSON imports of `import_rows` leads each, one after the other,
/// and reports the total time and what became of the rows; writes the same rows as CSV for
/// the `COPY` comparison when asked.
async fn import_leads(
    client: &reqwest::Client,
    args: &Args,
    token: &str,
    known: &[String],
) -> Result<(), String> {
    if args.import_batches == 0 {
        return Ok(());
    }
    const SOURCES: [&str; 4] = ["fair", "website", "phone", "referral"];
    const REGIONS: [&str; 8] = ["44", "31", "32", "33", "11", "51", "42", "45"];
    const INDUSTRIES: [&str; 6] = ["C35", "C39", "I65", "F51", "C26", "M74"];
    let run = std::process::id();
    let mut batches = Vec::with_capacity(args.import_batches);
    let mut csv = String::from(
        "source,source_detail,company_name,contact_name,mobile,email,region,industry_code,needs\n",
    );
    for b in 0..args.import_batches {
        let mut rows = Vec::with_capacity(args.import_rows);
        for i in 0..args.import_rows {
            let n = b * args.import_rows + i;
            // One lead in twenty has the mobile of an existing customer's contact.
            let mobile = match known.get((n / 20) % known.len().max(1)) {
                Some(m) if n.is_multiple_of(20) => m.clone(),
                _ => format!("13{}{:08}", n % 10, (run as usize * 7919 + n) % 100_000_000),
            };
            let source = SOURCES[n % SOURCES.len()];
            let row = json!({
                "source": if source == "referral" { "other" } else { source },
                "source_detail": "基准测试导入",
                "company_name": format!("基准测试第{n}号科技有限公司"),
                "contact_name": "测试联系人",
                "mobile": mobile,
                "email": format!("bench{run}.{n}@example.com"),
                "region": REGIONS[n % REGIONS.len()],
                "industry_code": INDUSTRIES[n % INDUSTRIES.len()],
                "needs": "索取报价",
            });
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{},{}\n",
                row["source"].as_str().unwrap_or_default(),
                row["source_detail"].as_str().unwrap_or_default(),
                row["company_name"].as_str().unwrap_or_default(),
                row["contact_name"].as_str().unwrap_or_default(),
                row["mobile"].as_str().unwrap_or_default(),
                row["email"].as_str().unwrap_or_default(),
                row["region"].as_str().unwrap_or_default(),
                row["industry_code"].as_str().unwrap_or_default(),
                row["needs"].as_str().unwrap_or_default(),
            ));
            rows.push(row);
        }
        batches.push(serde_json::to_vec(&json!({"leads": rows})).map_err(|e| e.to_string())?);
    }
    if let Some(path) = &args.csv_out {
        std::fs::write(path, csv).map_err(|e| format!("{path}: {e}"))?;
    }

    let url = format!("{}/api/v1/leads/import", args.url);
    let mut per_request = Vec::with_capacity(batches.len());
    let (mut created, mut duplicates, mut assigned, mut invalid) = (0, 0, 0, 0);
    let started = Instant::now();
    for body in batches {
        let sent = Instant::now();
        let response = client
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let report: Value = response.json().await.map_err(|e| e.to_string())?;
        per_request.push(sent.elapsed());
        if !status.is_success() {
            return Err(format!("{url}: {status} {report}"));
        }
        let count = |k: &str| report["summary"][k].as_u64().unwrap_or(0);
        created += count("created");
        duplicates += count("duplicates");
        assigned += count("assigned");
        invalid += count("invalid");
    }
    let total = started.elapsed();
    println!(
        "POST /api/v1/leads/import: {} requests of {} leads in {:.0} ms ({:.0} leads/s): \
         {created} created, {duplicates} duplicates, {assigned} assigned, {invalid} invalid",
        per_request.len(),
        args.import_rows,
        total.as_secs_f64() * 1000.0,
        (per_request.len() * args.import_rows) as f64 / total.as_secs_f64(),
    );
    report("POST /api/v1/leads/import (one request)", per_request);
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
