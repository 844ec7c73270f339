//! Prometheus metrics: requests by route template and status, their latency, the database
//! pool, the background jobs and the webhook backlog, in the text exposition format (0.0.4)
//! at a path of the operator's choosing outside `/api` (`/metrics` by default).
//!
//! Counters and histograms are recorded where things happen, through the `metrics` facade
//! (the worker counts jobs, the delivery job counts attempts); gauges that describe the
//! database are read when scraped.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, HttpResponse, web};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sha2::{Digest, Sha256};

use crate::AppState;

/// Request latency buckets, in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Job duration buckets, in seconds: 10 ms to 10 min.
const JOB_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0,
];
/// How often histogram samples are drained into their buckets between scrapes.
const UPKEEP: Duration = Duration::from_secs(5);
/// Longest a scrape waits for the database gauges.
const GAUGE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the database gauges are reused: scrapes more frequent than this (or a flood of
/// them) cost the database nothing.
const GAUGE_TTL: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("crm_http_request_duration_seconds".to_owned()),
                LATENCY_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("crm_job_duration_seconds".to_owned()),
                    JOB_BUCKETS,
                )
            });
        let recorder = match builder {
            Ok(b) => b.build_recorder(),
            Err(e) => {
                tracing::error!(error = %e, "metrics buckets refused; falling back to defaults");
                PrometheusBuilder::new().build_recorder()
            }
        };
        let handle = recorder.handle();
        if let Err(e) = metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %e, "another metrics recorder is installed");
        }
        describe();
        // Histograms keep every sample until they are drained into their buckets: by a
        // scrape, or by this upkeep, so that a server nobody scrapes does not grow.
        let upkeep = handle.clone();
        if let Err(e) = std::thread::Builder::new()
            .name("metrics-upkeep".to_owned())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP);
                    upkeep.run_upkeep();
                }
            })
        {
            tracing::warn!(error = %e, "metrics upkeep not started: histograms drain only when scraped");
        }
        handle
    })
}

/// Installs the recorder, so that metrics recorded before the first scrape are kept.
pub fn install() {
    handle();
}

/// Describes every metric (once, when the recorder is installed).
fn describe() {
    use metrics::Unit;
    metrics::describe_counter!(
        "crm_http_requests_total",
        "HTTP requests answered, by method, route template and status."
    );
    metrics::describe_histogram!(
        "crm_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method and route template."
    );
    metrics::describe_gauge!(
        "crm_http_requests_in_flight",
        "HTTP requests being answered."
    );
    metrics::describe_gauge!(
        "crm_db_pool_connections",
        "Database connections of this process, by state (in_use, idle)."
    );
    metrics::describe_gauge!(
        "crm_db_pool_max_connections",
        "The most database connections this process opens (CRM_DB_MAX_CONNECTIONS)."
    );
    metrics::describe_gauge!(
        "crm_db_up",
        "1 when the last scrape could read the database, 0 otherwise."
    );
    metrics::describe_counter!(
        "crm_jobs_total",
        "Background job runs of this process, by kind and outcome (done, retrying, failed)."
    );
    metrics::describe_histogram!(
        "crm_job_duration_seconds",
        Unit::Seconds,
        "Time a background job ran, by kind."
    );
    metrics::describe_gauge!(
        "crm_jobs_due",
        "Jobs past their time and not started by any copy (queued, or on an expired lease)."
    );
    metrics::describe_gauge!(
        "crm_jobs_running",
        "Jobs running on a live lease, on any copy."
    );
    metrics::describe_gauge!(
        "crm_jobs_lag_seconds",
        "How long the oldest due job has waited; 0 when none waits."
    );
    metrics::describe_gauge!(
        "crm_outbox_head_sequence",
        "The newest event's sequence in the outbox."
    );
    metrics::describe_gauge!(
        "crm_webhook_deliveries_pending",
        "Webhook deliveries waiting for an attempt (or for their subscription to be turned on)."
    );
    metrics::describe_gauge!(
        "crm_webhook_events_unqueued",
        "Outbox events not yet looked at for the furthest-behind active subscription."
    );
    metrics::describe_counter!(
        "crm_webhook_attempts_total",
        "Webhook delivery attempts of this process, by outcome (delivered, retrying, given_up)."
    );
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// One request in flight: counted while it lives, so that a request dropped half-way (the
/// client went away) is not counted for ever.
struct InFlight(metrics::Gauge);

impl InFlight {
    fn enter() -> Self {
        let gauge = metrics::gauge!("crm_http_requests_in_flight");
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Counts every request by method, route template (never a raw path: `/api/v1/customers/{id}`,
/// or `unmatched`) and status, and times it.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let in_flight = InFlight::enter();
    let result = next.call(req).await;
    drop(in_flight);
    let (route, status) = match &result {
        Ok(res) => (route_of(res.request()), res.status().as_u16()),
        Err(e) => (
            "unmatched".to_owned(),
            e.as_response_error().status_code().as_u16(),
        ),
    };
    let status = status.to_string();
    metrics::counter!("crm_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("crm_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    result
}

/// The route template of an answered request: as its log span found it, else found again.
fn route_of(req: &HttpRequest) -> String {
    use actix_web::HttpMessage;
    if let Some(route) = req.extensions().get::<crate::telemetry::RoutePattern>() {
        return route.0.clone();
    }
    req.match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned())
}

/// Whether the scrape carries the configured token (`Authorization: Bearer …`), compared by
/// digest so that the comparison takes the same time whatever the token.
fn authorized(req: &HttpRequest, token: Option<&str>) -> bool {
    let Some(token) = token else {
        return true;
    };
    let sent = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or_default();
    Sha256::digest(sent.as_bytes()) == Sha256::digest(token.as_bytes())
}

/// The scrape: every metric in the Prometheus text format, with the database gauges read now.
pub async fn scrape(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !authorized(&req, state.settings.metrics_token.as_deref()) {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .finish();
    }
    let ctx = &state.ctx;
    let pool = crm_store::pool_status(&ctx.db);
    metrics::gauge!("crm_db_pool_connections", "state" => "in_use")
        .set(f64::from(pool.open - pool.idle));
    metrics::gauge!("crm_db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("crm_db_pool_max_connections").set(f64::from(pool.max));
    if gauges_fresh(&state.metrics_read_at) {
        return render();
    }
    let read = async {
        let now = chrono::Utc::now();
        let (due, oldest, running) = crm_store::jobs::lag(&ctx.db, now).await?;
        let backlog = crm_store::webhooks::backlog(&ctx.db).await?;
        Ok::<_, crm_store::StoreError>((due, oldest, running, backlog, now))
    };
    match tokio::time::timeout(GAUGE_TIMEOUT, read).await {
        Ok(Ok((due, oldest, running, backlog, now))) => {
            metrics::gauge!("crm_db_up").set(1.0);
            metrics::gauge!("crm_jobs_due").set(due as f64);
            metrics::gauge!("crm_jobs_running").set(running as f64);
            let lag = oldest.map_or(0.0, |at| {
                (now - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics::gauge!("crm_jobs_lag_seconds").set(lag);
            metrics::gauge!("crm_outbox_head_sequence").set(backlog.head as f64);
            metrics::gauge!("crm_webhook_deliveries_pending").set(backlog.pending as f64);
            metrics::gauge!("crm_webhook_events_unqueued").set(backlog.unqueued as f64);
            mark_gauges_read(&state.metrics_read_at);
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: the database gauges could not be read");
            metrics::gauge!("crm_db_up").set(0.0);
        }
        Err(_) => {
            tracing::warn!("metrics: the database gauges took too long");
            metrics::gauge!("crm_db_up").set(0.0);
        }
    }
    render()
}

fn render() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle().render())
}

/// When an application last read its database gauges.
pub type GaugesReadAt = std::sync::Arc<std::sync::Mutex<Option<Instant>>>;

fn gauges_fresh(read_at: &GaugesReadAt) -> bool {
    read_at
        .lock()
        .ok()
        .and_then(|at| *at)
        .is_some_and(|at| at.elapsed() < GAUGE_TTL)
}

fn mark_gauges_read(read_at: &GaugesReadAt) {
    if let Ok(mut at) = read_at.lock() {
        *at = Some(Instant::now());
    }
}
