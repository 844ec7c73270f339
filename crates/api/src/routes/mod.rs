//! Route registration. Every route goes through `utoipa_actix_web` so it cannot be missing
//! from the OpenAPI document, and the fallback answers 404 or 405 (with `Allow`) by matching
//! the request against that same document.

pub mod activities;
pub mod api_keys;
pub mod assignment_rules;
pub mod attachments;
pub mod auth;
pub mod contacts;
pub mod contracts;
pub mod customers;
pub mod events;
pub mod leads;
pub mod me;
pub mod opportunities;
pub mod reference;
pub mod reminders;
pub mod reports;
pub mod retention;
pub mod service;
pub mod service_policy;
pub mod tags;
pub mod tier_policy;
pub mod users;
pub mod webhooks;
pub mod work_orders;

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::openapi::OpenApi;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;

/// A single versioned resource: its `ETag` from `version`, and its `Location`
/// (`/api/v1/{collection}/{id}`) when it was just created.
pub(crate) fn resource(
    status: actix_web::http::StatusCode,
    body: &impl serde::Serialize,
    version: i32,
    collection: &str,
    id: uuid::Uuid,
) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    builder.insert_header((actix_web::http::header::ETAG, crm_app::input::etag(version)));
    if status == actix_web::http::StatusCode::CREATED {
        builder.insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/{collection}/{id}"),
        ));
    }
    builder.json(body)
}

/// Registers every documented route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(service::healthz)
        .service(service::readyz)
        .service(
            scope("/api/v1")
                .service(service::get_openapi)
                .service(reference::list_industries)
                .service(reference::list_regions)
                .service(auth::login)
                .service(auth::refresh)
                .service(auth::logout)
                .service(me::get_me)
                .service(me::change_my_password)
                .service(users::list_users)
                .service(users::create_user)
                .service(users::get_user)
                .service(users::update_user)
                .service(api_keys::list_api_keys)
                .service(api_keys::create_api_key)
                .service(api_keys::delete_api_key)
                // `export` and `at-risk` before `{id}`, which would otherwise take them.
                .service(customers::export::export_customers)
                .service(retention::list_customers_at_risk)
                .service(customers::list_customers)
                .service(customers::create_customer)
                .service(customers::get_customer)
                .service(customers::update_customer)
                .service(customers::archive_customer)
                .service(customers::restore_customer)
                .service(customers::purge_customer)
                .service(customers::list_customer_history)
                .service(customers::set_customer_tags)
                .service(customers::list_customer_duplicates)
                .service(customers::merge_customers)
                .service(contacts::list_contacts)
                .service(contacts::create_contact)
                .service(contacts::update_contact)
                .service(contacts::delete_contact)
                .service(attachments::list_attachments)
                .service(attachments::upload_attachment)
                .service(attachments::download_attachment)
                .service(attachments::delete_attachment)
                .service(tags::list_tags)
                .service(tags::create_tag)
                .service(tags::update_tag)
                .service(tags::delete_tag)
                .service(tier_policy::get_tier_policy)
                .service(tier_policy::put_tier_policy)
                .service(events::list_events)
                .service(leads::list_leads)
                .service(leads::create_lead)
                // `import` before `{id}`.
                .service(leads::get_lead_import_template)
                .service(leads::import_leads)
                .service(leads::get_lead)
                .service(leads::update_lead)
                .service(leads::list_lead_history)
                .service(leads::assign_lead)
                .service(leads::convert_lead)
                .service(leads::disqualify_lead)
                .service(assignment_rules::list_assignment_rules)
                .service(assignment_rules::create_assignment_rule)
                .service(assignment_rules::get_assignment_rule)
                .service(assignment_rules::update_assignment_rule)
                .service(assignment_rules::delete_assignment_rule)
                .service(opportunities::list_opportunities)
                .service(opportunities::create_opportunity)
                .service(opportunities::get_opportunity)
                .service(opportunities::update_opportunity)
                .service(opportunities::win_opportunity)
                .service(opportunities::lose_opportunity)
                .service(opportunities::reopen_opportunity)
                .service(opportunities::list_opportunity_stages)
                .service(opportunities::list_opportunity_history)
                .service(reports::get_forecast)
                .service(work_orders::list_work_orders)
                .service(work_orders::create_work_order)
                .service(work_orders::get_work_order)
                .service(work_orders::update_work_order)
                .service(work_orders::assign_work_order)
                .service(work_orders::start_work_order)
                .service(work_orders::resolve_work_order)
                .service(work_orders::close_work_order)
                .service(work_orders::cancel_work_order)
                .service(work_orders::reopen_work_order)
                .service(work_orders::list_work_order_notes)
                .service(work_orders::add_work_order_note)
                .service(work_orders::list_work_order_history)
                .service(service_policy::get_sla_policy)
                .service(service_policy::put_sla_policy)
                .service(service_policy::get_work_calendar)
                .service(service_policy::put_work_calendar)
                .service(activities::list_customer_activities)
                .service(activities::create_activity)
                .service(activities::list_activities)
                .service(activities::get_activity)
                .service(activities::list_follow_ups_due)
                .service(contracts::list_contracts)
                .service(contracts::create_contract)
                .service(contracts::get_contract)
                .service(contracts::renew_contract)
                .service(reminders::list_reminders)
                .service(reminders::create_reminder)
                .service(reminders::complete_reminder)
                .service(reminders::dismiss_reminder)
                .service(reminders::snooze_reminder)
                .service(reminders::get_care_holidays)
                .service(reminders::put_care_holidays)
                .service(reminders::get_care_calendar)
                .service(retention::list_customer_surveys)
                .service(retention::create_customer_survey)
                .service(retention::mark_customer_lost)
                .service(retention::get_referral_report)
                .service(webhooks::list_webhooks)
                .service(webhooks::create_webhook)
                .service(webhooks::get_webhook)
                .service(webhooks::update_webhook)
                .service(webhooks::delete_webhook)
                .service(webhooks::rotate_webhook_secret)
                .service(webhooks::list_webhook_deliveries)
                .service(webhooks::redeliver_webhook_delivery),
        );
}

/// Every documented path with the methods it accepts, for the 404/405 fallback.
pub struct RouteTable {
    routes: Vec<(ResourceDef, Vec<Method>)>,
}

impl RouteTable {
    /// Builds the table from the OpenAPI document, plus the routes served outside it.
    pub fn from_openapi(doc: &OpenApi) -> Self {
        let mut routes: Vec<(ResourceDef, Vec<Method>)> = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (Method::GET, item.get.is_some()),
                    (Method::PUT, item.put.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        routes.push((ResourceDef::new("/docs"), vec![Method::GET]));
        routes.push((ResourceDef::new("/docs/{tail}*"), vec![Method::GET]));
        Self { routes }
    }

    /// The methods `path` accepts, or `None` when no route has this path.
    pub fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        self.matching(path, |_| true)
    }

    /// The methods of a fixed path (no parameters) equal to `path`: `/customers/at-risk`
    /// is that path, not a customer whose id failed to parse.
    pub fn fixed(&self, path: &str) -> Option<Vec<Method>> {
        self.matching(path, |def| def.pattern().is_some_and(|p| !p.contains('{')))
    }

    fn matching(&self, path: &str, keep: impl Fn(&ResourceDef) -> bool) -> Option<Vec<Method>> {
        let mut found: Option<Vec<Method>> = None;
        for (def, methods) in &self.routes {
            if keep(def) && def.is_match(path) {
                found
                    .get_or_insert_with(Vec::new)
                    .extend(methods.iter().cloned());
            }
        }
        found
    }
}

/// Answers requests no route took: 405 with `Allow` when the path exists with other
/// methods, 404 otherwise.
pub async fn fallback(
    req: HttpRequest,
    table: web::Data<RouteTable>,
) -> Result<HttpResponse, ApiError> {
    Err(
        match table
            .fixed(req.path())
            .or_else(|| table.allowed(req.path()))
        {
            Some(mut methods) if !methods.is_empty() => {
                methods.sort_by_key(|m| m.to_string());
                methods.dedup();
                ApiError::method_not_allowed(&methods)
            }
            _ => ApiError(crm_app::AppError::NotFound),
        },
    )
}
