//! The access matrix: every route of the OpenAPI document, called as each kind of caller,
//! must answer the expected status. A route missing from the table fails the test, so every
//! new endpoint has to state who may call it.
//!
//! The fixture customer belongs to the `sales` caller, so `sales` sees it and `service`
//! (whose work orders are all for a second customer) does not: 404, never 403, for anything
//! that reveals it. `service` is the only agent, so every work order is assigned to them.

use std::collections::BTreeSet;

use crm_domain::access::Role;
use crm_tests::{PASSWORD, TestApp, TestUser, customer_body};
use reqwest::Method;
use serde_json::{Value, json};

/// Callers, in the order of each row's expected statuses.
const CALLERS: [&str; 6] = [
    "anonymous",
    "api_key",
    "admin",
    "manager",
    "sales",
    "service",
];

/// What `{id}` in a path stands for. `Fresh*` targets are made anew for every call, for
/// routes that consume what they act on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    None,
    User,
    FreshApiKey,
    Customer,
    FreshCustomer,
    Contact,
    FreshContact,
    Attachment,
    FreshAttachment,
    Tag,
    FreshTag,
    Lead,
    FreshLead,
    Rule,
    FreshRule,
    Deal,
    FreshDeal,
    ClosedDeal,
    Activity,
    Contract,
    FreshContract,
    FreshReminder,
    WorkOrder,
    FreshWorkOrder,
    StartedWorkOrder,
    ResolvedWorkOrder,
    Webhook,
    FreshWebhook,
}

struct Case {
    method: &'static str,
    path: &'static str,
    target: Target,
    /// Expected status for each of [`CALLERS`].
    expect: [u16; 6],
    /// Request body; `{unique}`, `{uscc}`, `{login}`, `{password}` and `{fresh_customer}` are
    /// filled in for each call.
    body: Option<&'static str>,
}

const fn case(
    method: &'static str,
    path: &'static str,
    target: Target,
    expect: [u16; 6],
    body: Option<&'static str>,
) -> Case {
    Case {
        method,
        path,
        target,
        expect,
        body,
    }
}

use Target::*;

const NEW_CUSTOMER: &str = r#"{"name": "矩阵测试有限公司{unique}", "uscc": "{uscc}", "industry_code": "C35", "customer_type": "potential",
    "contacts": [{"name": "李四", "title": "经理", "mobile": "13912345678", "is_primary": true}]}"#;
const POLICY: &str = r#"{"purchase_weight": 50, "cooperation_weight": 20, "influence_weight": 30, "purchase_full_score_wan": 1000,
    "cooperation_full_score_years": 10, "strategic_threshold": 75, "key_threshold": 45}"#;

const NEW_LEAD: &str = r#"{"source": "website", "company_name": "矩阵线索有限公司", "contact_name": "赵六", "mobile": "13711112222"}"#;
const IMPORT: &str = r#"{"leads": [{"source": "fair", "company_name": "矩阵导入有限公司", "contact_name": "孙七", "email": "m{unique}@example.com"}]}"#;
const CONVERT: &str = r#"{"customer": {"uscc": "{uscc}", "industry_code": "C35", "contact_title": "经理"},
    "opportunity": {"amount": "1000.00", "expected_close_date": "2027-01-31", "probability": 30}}"#;
const WEBHOOK: &str =
    r#"{"url": "http://127.0.0.1:9/hooks/{unique}", "events": ["survey.created"]}"#;
const NEW_DEAL: &str = r#"{"customer_id": "{customer}", "name": "矩阵商机", "amount": "1000.00", "expected_close_date": "2027-01-31", "probability": 30}"#;

const NEW_ORDER: &str = r#"{"customer_id": "{customer2}", "title": "矩阵工单{unique}", "description": "设备报警", "category": "repair", "severity": "normal", "channel": "phone"}"#;
const SLA: &str = r#"{"targets": {
    "strategic": {"critical": {"response_minutes": 30, "resolution_minutes": 240, "clock": "calendar"}, "high": {"response_minutes": 60, "resolution_minutes": 480, "clock": "business"},
                  "normal": {"response_minutes": 120, "resolution_minutes": 960, "clock": "business"}, "low": {"response_minutes": 240, "resolution_minutes": 1440, "clock": "business"}},
    "key": {"critical": {"response_minutes": 60, "resolution_minutes": 480, "clock": "calendar"}, "high": {"response_minutes": 120, "resolution_minutes": 960, "clock": "business"},
            "normal": {"response_minutes": 240, "resolution_minutes": 1440, "clock": "business"}, "low": {"response_minutes": 480, "resolution_minutes": 2400, "clock": "business"}},
    "ordinary": {"critical": {"response_minutes": 120, "resolution_minutes": 1440, "clock": "calendar"}, "high": {"response_minutes": 240, "resolution_minutes": 1440, "clock": "business"},
                 "normal": {"response_minutes": 480, "resolution_minutes": 2400, "clock": "business"}, "low": {"response_minutes": 960, "resolution_minutes": 4800, "clock": "business"}}},
    "assignment": "least_loaded"}"#;
const CALENDAR: &str = r#"{"utc_offset": "+08:00", "working_hours": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}],
    "working_weekdays": [1, 2, 3, 4, 5], "holidays": [{"date": "2026-10-01", "name": "国庆节"}], "makeup_workdays": [{"date": "2026-10-10", "name": "国庆节调休"}]}"#;

#[rustfmt::skip]
const MATRIX: &[Case] = &[
    //                                                                        anon key  admin mgr sales service
    case("GET",    "/healthz",                          None,            [200, 200, 200, 200, 200, 200], Option::None),
    case("GET",    "/readyz",                           None,            [200, 200, 200, 200, 200, 200], Option::None),
    case("GET",    "/api/v1/openapi.json",              None,            [200, 200, 200, 200, 200, 200], Option::None),
    case("GET",    "/api/v1/reference/industries",      None,            [200, 200, 200, 200, 200, 200], Option::None),
    case("GET",    "/api/v1/reference/regions",         None,            [200, 200, 200, 200, 200, 200], Option::None),
    case("POST",   "/api/v1/auth/login",                None,            [200, 200, 200, 200, 200, 200],
         Some(r#"{"username": "{login}", "password": "{password}"}"#)),
    case("POST",   "/api/v1/auth/refresh",              None,            [401, 401, 401, 401, 401, 401], Some(r#"{"refresh_token": "crt_{unique}"}"#)),
    case("POST",   "/api/v1/auth/logout",               None,            [204, 204, 204, 204, 204, 204], Some(r#"{"refresh_token": "crt_{unique}AAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#)),
    case("GET",    "/api/v1/me",                        None,            [401, 403, 200, 200, 200, 200], Option::None),
    // A wrong current password proves the caller got through to the check.
    case("PUT",    "/api/v1/me/password",               None,            [401, 403, 422, 422, 422, 422],
         Some(r#"{"current_password": "not-the-password", "new_password": "Another-pass-1"}"#)),
    case("GET",    "/api/v1/users",                     None,            [401, 403, 200, 200, 403, 403], Option::None),
    case("POST",   "/api/v1/users",                     None,            [401, 403, 201, 403, 403, 403],
         Some(r#"{"username": "u{unique}", "display_name": "x", "role": "sales", "password": "Matrix-pass-12"}"#)),
    case("GET",    "/api/v1/users/{id}",                User,            [401, 403, 200, 200, 403, 403], Option::None),
    case("PATCH",  "/api/v1/users/{id}",                User,            [401, 403, 200, 403, 403, 403], Some(r#"{"team": "t{unique}"}"#)),
    case("GET",    "/api/v1/api-keys",                  None,            [401, 403, 200, 403, 403, 403], Option::None),
    case("POST",   "/api/v1/api-keys",                  None,            [401, 403, 201, 403, 403, 403],
         Some(r#"{"name": "k{unique}", "scopes": ["leads:write"]}"#)),
    case("DELETE", "/api/v1/api-keys/{id}",             FreshApiKey,     [401, 403, 204, 403, 403, 403], Option::None),
    case("GET",    "/api/v1/customers",                 None,            [401, 403, 200, 200, 200, 200], Option::None),
    case("POST",   "/api/v1/customers",                 None,            [401, 403, 201, 201, 201, 403], Some(NEW_CUSTOMER)),
    case("GET",    "/api/v1/customers/export",          None,            [401, 403, 200, 200, 200, 200], Option::None),
    case("GET",    "/api/v1/customers/{id}",            Customer,        [401, 403, 200, 200, 200, 404], Option::None),
    // Without If-Match: 428 shows the caller got past authorization and visibility.
    case("PATCH",  "/api/v1/customers/{id}",            Customer,        [401, 403, 428, 428, 428, 403], Some(r#"{"needs": "n{unique}"}"#)),
    case("DELETE", "/api/v1/customers/{id}",            FreshCustomer,   [401, 403, 204, 204, 403, 403], Option::None),
    case("POST",   "/api/v1/customers/{id}/restore",    FreshCustomer,   [401, 403, 200, 200, 403, 403], Option::None),
    case("POST",   "/api/v1/customers/{id}/purge",      FreshCustomer,   [401, 403, 204, 403, 403, 403], Option::None),
    case("GET",    "/api/v1/customers/{id}/history",    Customer,        [401, 403, 200, 200, 200, 404], Option::None),
    case("PUT",    "/api/v1/customers/{id}/tags",       Customer,        [401, 403, 200, 200, 200, 403], Some(r#"{"tags": ["矩阵"]}"#)),
    case("GET",    "/api/v1/customers/{id}/duplicates", Customer,        [401, 403, 200, 200, 200, 404], Option::None),
    case("POST",   "/api/v1/customers/{id}/merge",      Customer,        [401, 403, 200, 200, 403, 403], Some(r#"{"source_id": "{fresh_customer}"}"#)),
    case("GET",    "/api/v1/customers/{id}/contacts",   Customer,        [401, 403, 200, 200, 200, 404], Option::None),
    case("POST",   "/api/v1/customers/{id}/contacts",   Customer,        [401, 403, 201, 201, 201, 403],
         Some(r#"{"name": "王五", "title": "工程师", "mobile": "13712345678"}"#)),
    case("PATCH",  "/api/v1/contacts/{id}",             Contact,         [401, 403, 200, 200, 200, 403], Some(r#"{"title": "总监{unique}"}"#)),
    case("DELETE", "/api/v1/contacts/{id}",             FreshContact,    [401, 403, 204, 204, 204, 403], Option::None),
    case("GET",    "/api/v1/customers/{id}/attachments", Customer,       [401, 403, 200, 200, 200, 404], Option::None),
    // A JSON body is not an upload: 415 shows the caller got past authorization.
    case("POST",   "/api/v1/customers/{id}/attachments", Customer,       [401, 403, 415, 415, 415, 403], Some("{}")),
    case("GET",    "/api/v1/attachments/{id}",          Attachment,      [401, 403, 200, 200, 200, 404], Option::None),
    case("DELETE", "/api/v1/attachments/{id}",          FreshAttachment, [401, 403, 204, 204, 204, 403], Option::None),
    case("GET",    "/api/v1/tags",                      None,            [401, 403, 200, 200, 200, 200], Option::None),
    case("POST",   "/api/v1/tags",                      None,            [401, 403, 201, 201, 201, 403], Some(r#"{"name": "t{unique}"}"#)),
    case("PATCH",  "/api/v1/tags/{id}",                 Tag,             [401, 403, 200, 200, 403, 403], Some(r#"{"name": "t{unique}"}"#)),
    case("DELETE", "/api/v1/tags/{id}",                 FreshTag,        [401, 403, 204, 204, 403, 403], Option::None),
    case("GET",    "/api/v1/tier-policy",               None,            [401, 403, 200, 200, 200, 200], Option::None),
    case("PUT",    "/api/v1/tier-policy",               None,            [401, 403, 200, 200, 403, 403], Some(POLICY)),
    // The fixture key has `leads:write` only; `events:read` keys are tested with the feed.
    case("GET",    "/api/v1/events",                    None,            [401, 403, 200, 403, 403, 403], Option::None),
    // The fixture lead is the sales rep's; the key did not create it, so it does not see it.
    case("GET",    "/api/v1/leads",                     None,            [401, 200, 200, 200, 200, 403], Option::None),
    case("POST",   "/api/v1/leads",                     None,            [401, 201, 201, 201, 201, 403], Some(NEW_LEAD)),
    case("GET",    "/api/v1/leads/import/template",     None,            [401, 200, 200, 200, 200, 403], Option::None),
    case("POST",   "/api/v1/leads/import",              None,            [401, 200, 200, 200, 200, 403], Some(IMPORT)),
    case("GET",    "/api/v1/leads/{id}",                Lead,            [401, 404, 200, 200, 200, 403], Option::None),
    case("PATCH",  "/api/v1/leads/{id}",                Lead,            [401, 403, 428, 428, 428, 403], Some(r#"{"needs": "n{unique}"}"#)),
    case("GET",    "/api/v1/leads/{id}/history",        Lead,            [401, 403, 200, 200, 200, 403], Option::None),
    case("POST",   "/api/v1/leads/{id}/assign",         FreshLead,       [401, 403, 200, 200, 403, 403], Some(r#"{"owner_id": "{user}"}"#)),
    case("POST",   "/api/v1/leads/{id}/convert",        FreshLead,       [401, 403, 200, 200, 200, 403], Some(CONVERT)),
    case("POST",   "/api/v1/leads/{id}/disqualify",     FreshLead,       [401, 403, 200, 200, 200, 403], Some(r#"{"reason": "预算不足"}"#)),
    case("GET",    "/api/v1/webhooks",                  None,            [401, 403, 200, 403, 403, 403], Option::None),
    case("POST",   "/api/v1/webhooks",                  None,            [401, 403, 201, 403, 403, 403], Some(WEBHOOK)),
    case("GET",    "/api/v1/webhooks/{id}",             Webhook,         [401, 403, 200, 403, 403, 403], Option::None),
    case("PATCH",  "/api/v1/webhooks/{id}",             Webhook,         [401, 403, 200, 403, 403, 403], Some(r#"{"description": "d{unique}"}"#)),
    case("DELETE", "/api/v1/webhooks/{id}",             FreshWebhook,    [401, 403, 204, 403, 403, 403], Option::None),
    case("POST",   "/api/v1/webhooks/{id}/rotate-secret", Webhook,       [401, 403, 200, 403, 403, 403], Option::None),
    case("GET",    "/api/v1/webhooks/{id}/deliveries",  Webhook,         [401, 403, 200, 403, 403, 403], Option::None),
    // A made-up delivery: 404 shows the admin got past authorization.
    case("POST",   "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", Webhook, [401, 403, 404, 403, 403, 403], Option::None),
    case("GET",    "/api/v1/assignment-rules",          None,            [401, 403, 200, 200, 403, 403], Option::None),
    case("POST",   "/api/v1/assignment-rules",          None,            [401, 403, 201, 201, 403, 403], Some(r#"{"name": "r{unique}", "assignees": ["{user}"]}"#)),
    case("GET",    "/api/v1/assignment-rules/{id}",     Rule,            [401, 403, 200, 200, 403, 403], Option::None),
    case("PATCH",  "/api/v1/assignment-rules/{id}",     Rule,            [401, 403, 200, 200, 403, 403], Some(r#"{"name": "r{unique}"}"#)),
    case("DELETE", "/api/v1/assignment-rules/{id}",     FreshRule,       [401, 403, 204, 204, 403, 403], Option::None),
    case("GET",    "/api/v1/opportunities",             None,            [401, 403, 200, 200, 200, 403], Option::None),
    case("POST",   "/api/v1/opportunities",             None,            [401, 403, 201, 201, 201, 403], Some(NEW_DEAL)),
    case("GET",    "/api/v1/opportunities/{id}",        Deal,            [401, 403, 200, 200, 200, 403], Option::None),
    // Without If-Match: 428 shows the caller got past authorization and visibility.
    case("PATCH",  "/api/v1/opportunities/{id}",        Deal,            [401, 403, 428, 428, 428, 403], Some(r#"{"name": "商机{unique}"}"#)),
    case("POST",   "/api/v1/opportunities/{id}/win",    FreshDeal,       [401, 403, 200, 200, 200, 403], Some(r#"{"amount": "1000.00"}"#)),
    case("POST",   "/api/v1/opportunities/{id}/lose",   FreshDeal,       [401, 403, 200, 200, 200, 403], Some(r#"{"reason": "价格"}"#)),
    case("POST",   "/api/v1/opportunities/{id}/reopen", ClosedDeal,      [401, 403, 200, 200, 403, 403], Some("{}")),
    case("GET",    "/api/v1/opportunities/{id}/stages", Deal,            [401, 403, 200, 200, 200, 403], Option::None),
    case("GET",    "/api/v1/opportunities/{id}/history", Deal,           [401, 403, 200, 200, 200, 403], Option::None),
    case("GET",    "/api/v1/reports/forecast",          None,            [401, 403, 200, 200, 200, 403], Option::None),
    // The work orders are for the rep's second customer and assigned to the one agent.
    case("GET",    "/api/v1/work-orders",               None,            [401, 403, 200, 200, 200, 200], Option::None),
    case("POST",   "/api/v1/work-orders",               None,            [401, 403, 201, 201, 201, 201], Some(NEW_ORDER)),
    case("GET",    "/api/v1/work-orders/{id}",          WorkOrder,       [401, 403, 200, 200, 200, 200], Option::None),
    // Without If-Match: 428 shows the caller got past authorization and visibility.
    case("PATCH",  "/api/v1/work-orders/{id}",          WorkOrder,       [401, 403, 428, 428, 403, 428], Some(r#"{"title": "工单{unique}"}"#)),
    case("POST",   "/api/v1/work-orders/{id}/assign",   FreshWorkOrder,  [401, 403, 200, 200, 403, 403], Some(r#"{"assignee_id": "{agent}"}"#)),
    case("POST",   "/api/v1/work-orders/{id}/start",    FreshWorkOrder,  [401, 403, 200, 200, 403, 200], Some("{}")),
    case("POST",   "/api/v1/work-orders/{id}/resolve",  StartedWorkOrder, [401, 403, 200, 200, 403, 200], Some(r#"{"resolution": "已更换部件"}"#)),
    case("POST",   "/api/v1/work-orders/{id}/close",    ResolvedWorkOrder, [401, 403, 200, 200, 403, 200], Some(r#"{"satisfaction": 5, "comment": "满意"}"#)),
    case("POST",   "/api/v1/work-orders/{id}/cancel",   FreshWorkOrder,  [401, 403, 200, 200, 403, 200], Some(r#"{"reason": "重复报修"}"#)),
    case("POST",   "/api/v1/work-orders/{id}/reopen",   ResolvedWorkOrder, [401, 403, 200, 200, 403, 200], Some(r#"{"reason": "问题复现"}"#)),
    case("GET",    "/api/v1/work-orders/{id}/notes",    WorkOrder,       [401, 403, 200, 200, 200, 200], Option::None),
    case("POST",   "/api/v1/work-orders/{id}/notes",    WorkOrder,       [401, 403, 201, 201, 201, 201], Some(r#"{"body": "已联系客户{unique}"}"#)),
    case("GET",    "/api/v1/work-orders/{id}/history",  WorkOrder,       [401, 403, 200, 200, 200, 200], Option::None),
    case("GET",    "/api/v1/sla-policy",                None,            [401, 403, 200, 200, 200, 200], Option::None),
    case("PUT",    "/api/v1/sla-policy",                None,            [401, 403, 200, 200, 403, 403], Some(SLA)),
    case("GET",    "/api/v1/work-calendar",             None,            [401, 403, 200, 200, 200, 200], Option::None),
    case("PUT",    "/api/v1/work-calendar",             None,            [401, 403, 200, 403, 403, 403], Some(CALENDAR)),
    case("GET",    "/api/v1/customers/{id}/activities", Customer,        [401, 403, 200, 200, 200, 404], Option::None),
    case("POST",   "/api/v1/customers/{id}/activities", Customer,        [401, 403, 201, 201, 201, 403], Some(r#"{"kind": "call", "summary": "电话回访{unique}"}"#)),
    case("GET",    "/api/v1/activities",                None,            [401, 403, 200, 200, 200, 200], Option::None),
    case("GET",    "/api/v1/activities/{id}",           Activity,        [401, 403, 200, 200, 200, 404], Option::None),
    case("GET",    "/api/v1/follow-ups/due",            None,            [401, 403, 200, 200, 200, 403], Option::None),
    case("GET",    "/api/v1/contracts",                 None,            [401, 403, 200, 200, 200, 200], Option::None),
    case("POST",   "/api/v1/contracts",                 None,            [401, 403, 201, 201, 201, 403],
         Some(r#"{"customer_id": "{customer}", "number": "HT-{unique}", "amount": "1000.00", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}"#)),
    case("GET",    "/api/v1/contracts/{id}",            Contract,        [401, 403, 200, 200, 200, 404], Option::None),
    case("POST",   "/api/v1/contracts/{id}/renew",      FreshContract,   [401, 403, 201, 201, 201, 403],
         Some(r#"{"number": "XQ-{unique}", "amount": "1000.00", "ends_on": "2027-12-31"}"#)),
    // Reminders are each person's own: the fixture ones are the rep's.
    case("GET",    "/api/v1/reminders",                 None,            [401, 403, 200, 200, 200, 200], Option::None),
    case("POST",   "/api/v1/reminders",                 None,            [401, 403, 201, 201, 201, 201], Some(r#"{"title": "回电{unique}", "due_at": "2027-01-04T01:00:00Z"}"#)),
    case("POST",   "/api/v1/reminders/{id}/done",       FreshReminder,   [401, 403, 404, 404, 200, 404], Option::None),
    case("POST",   "/api/v1/reminders/{id}/dismiss",    FreshReminder,   [401, 403, 404, 404, 200, 404], Option::None),
    case("POST",   "/api/v1/reminders/{id}/snooze",     FreshReminder,   [401, 403, 404, 404, 200, 404], Some(r#"{"until": "2027-06-01T00:00:00Z"}"#)),
    case("GET",    "/api/v1/care-calendar",             None,            [401, 403, 200, 200, 200, 200], Option::None),
    case("GET",    "/api/v1/care-calendar/holidays",    None,            [401, 403, 200, 200, 200, 200], Option::None),
    case("PUT",    "/api/v1/care-calendar/holidays",    None,            [401, 403, 200, 403, 403, 403], Some(r#"{"holidays": [{"date": "2027-02-06", "name": "春节"}]}"#)),
    case("GET",    "/api/v1/customers/at-risk",         None,            [401, 403, 200, 200, 200, 403], Option::None),
    case("GET",    "/api/v1/customers/{id}/surveys",    Customer,        [401, 403, 200, 200, 200, 404], Option::None),
    case("POST",   "/api/v1/customers/{id}/surveys",    FreshCustomer,   [401, 403, 201, 201, 201, 404], Some(r#"{"product_satisfaction": 5, "service_satisfaction": 4}"#)),
    case("POST",   "/api/v1/customers/{id}/mark-lost",  FreshCustomer,   [401, 403, 200, 200, 403, 403], Some(r#"{"reason": "转向竞争对手"}"#)),
    case("GET",    "/api/v1/reports/referrals",         None,            [401, 403, 200, 200, 200, 403], Option::None),
];

fn documented_routes() -> BTreeSet<(String, String)> {
    let doc: Value = serde_json::from_str(&crm_api::openapi_json()).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    routes
}

#[test]
fn every_documented_route_is_in_the_matrix() {
    let documented = documented_routes();
    let listed: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|c| (c.method.to_owned(), c.path.to_owned()))
        .collect();
    let missing: Vec<_> = documented.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the access matrix: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "matrix rows for routes that do not exist: {stale:?}"
    );
    assert_eq!(listed.len(), MATRIX.len(), "duplicate rows");
}

struct Fixtures {
    admin: TestUser,
    webhook: String,
    sales: TestUser,
    agent: String,
    activity: String,
    contract: String,
    customer2: String,
    work_order: String,
    lead: String,
    rule: String,
    deal: String,
    user: String,
    customer: String,
    contact: String,
    attachment: String,
    tag: String,
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

async fn upload(app: &TestApp, token: &str, customer: &str) -> String {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("contract.pdf"),
    );
    let response = app
        .as_user(
            Method::POST,
            &format!("/api/v1/customers/{customer}/attachments"),
            token,
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn post_json(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let response = app
        .as_user(Method::POST, path, token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn new_lead(app: &TestApp, token: &str) -> String {
    post_json(
        app,
        token,
        "/api/v1/leads",
        json!({"source": "phone", "company_name": "矩阵临时线索有限公司", "contact_name": "周八",
               "mobile": format!("135{:08}", uuid::Uuid::new_v4().as_u128() % 100_000_000)}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn new_rule(app: &TestApp, token: &str, user: &str) -> String {
    post_json(
        app,
        token,
        "/api/v1/assignment-rules",
        json!({"name": "矩阵规则", "sources": ["other"], "assignees": [user]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn new_deal(app: &TestApp, token: &str, customer: &str) -> String {
    post_json(
        app,
        token,
        "/api/v1/opportunities",
        json!({"customer_id": customer, "name": "矩阵商机", "amount": "1000.00",
               "expected_close_date": "2027-01-31", "probability": 30}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn new_contract(app: &TestApp, token: &str, customer: &str) -> String {
    let number = format!("HT-{}", uuid::Uuid::now_v7().simple());
    post_json(
        app,
        token,
        "/api/v1/contracts",
        json!({"customer_id": customer, "number": number, "amount": "5000.00",
               "starts_on": "2026-01-01", "ends_on": "2026-12-31"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn new_webhook(app: &TestApp, token: &str) -> String {
    post_json(
        app,
        token,
        "/api/v1/webhooks",
        json!({"url": "http://127.0.0.1:9/hooks", "events": ["survey.created"]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn new_order(app: &TestApp, token: &str, customer: &str) -> String {
    post_json(
        app,
        token,
        "/api/v1/work-orders",
        json!({"customer_id": customer, "title": "矩阵工单", "description": "设备报警",
               "category": "repair", "severity": "normal", "channel": "phone"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

impl Fixtures {
    async fn target(&self, app: &TestApp, target: Target) -> String {
        let unique = uuid::Uuid::now_v7().simple().to_string();
        match target {
            None => String::new(),
            User => self.user.clone(),
            FreshApiKey => post_json(
                app,
                &self.admin.token,
                "/api/v1/api-keys",
                json!({"name": unique, "scopes": ["leads:write"]}),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            Customer => self.customer.clone(),
            FreshCustomer => app
                .create_customer(
                    &self.sales.token,
                    &customer_body(&format!("临时客户{unique}")),
                )
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            Contact => self.contact.clone(),
            FreshContact => post_json(
                app,
                &self.sales.token,
                &format!("/api/v1/customers/{}/contacts", self.customer),
                json!({"name": "临时", "title": "助理", "mobile": "13600000000"}),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            Attachment => self.attachment.clone(),
            FreshAttachment => upload(app, &self.sales.token, &self.customer).await,
            Tag => self.tag.clone(),
            Lead => self.lead.clone(),
            FreshLead => new_lead(app, &self.sales.token).await,
            Rule => self.rule.clone(),
            FreshRule => new_rule(app, &self.admin.token, &self.user).await,
            Deal => self.deal.clone(),
            FreshDeal => new_deal(app, &self.sales.token, &self.customer).await,
            ClosedDeal => {
                let id = new_deal(app, &self.sales.token, &self.customer).await;
                post_json(
                    app,
                    &self.sales.token,
                    &format!("/api/v1/opportunities/{id}/lose"),
                    json!({"reason": "矩阵"}),
                )
                .await;
                id
            }
            Activity => self.activity.clone(),
            Contract => self.contract.clone(),
            FreshContract => new_contract(app, &self.sales.token, &self.customer).await,
            FreshReminder => post_json(
                app,
                &self.sales.token,
                "/api/v1/reminders",
                json!({"title": "回电", "due_at": "2027-01-04T01:00:00Z"}),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            WorkOrder => self.work_order.clone(),
            FreshWorkOrder => new_order(app, &self.admin.token, &self.customer2).await,
            StartedWorkOrder | ResolvedWorkOrder => {
                let id = new_order(app, &self.admin.token, &self.customer2).await;
                let path = format!("/api/v1/work-orders/{id}");
                post_json(app, &self.admin.token, &format!("{path}/start"), json!({})).await;
                if target == ResolvedWorkOrder {
                    post_json(
                        app,
                        &self.admin.token,
                        &format!("{path}/resolve"),
                        json!({"resolution": "已处理"}),
                    )
                    .await;
                }
                id
            }
            Webhook => self.webhook.clone(),
            FreshWebhook => new_webhook(app, &self.admin.token).await,
            FreshTag => post_json(
                app,
                &self.admin.token,
                "/api/v1/tags",
                json!({"name": unique}),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        }
    }
}

/// The request with `caller`'s credentials.
fn authorize(
    request: reqwest::RequestBuilder,
    caller: &str,
    fixtures: &Fixtures,
    key: &str,
    manager: &TestUser,
    service: &TestUser,
) -> reqwest::RequestBuilder {
    match caller {
        "anonymous" => request,
        "api_key" => request.header("X-API-Key", key),
        "admin" => request.bearer_auth(&fixtures.admin.token),
        "manager" => request.bearer_auth(&manager.token),
        "sales" => request.bearer_auth(&fixtures.sales.token),
        _ => request.bearer_auth(&service.token),
    }
}

#[tokio::test]
async fn every_route_answers_each_caller_as_expected() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let manager = app.user(Role::Manager).await;
    let sales = app.user(Role::Sales).await;
    let service = app.user(Role::Service).await;
    let (target_user, _) = app.create_account(Role::Sales).await;
    let (_, login_name) = app.create_account(Role::Sales).await;
    let key_secret = post_json(
        &app,
        &admin.token,
        "/api/v1/api-keys",
        json!({"name": "matrix", "scopes": ["leads:write"]}),
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let customer = app
        .create_customer(&sales.token, &customer_body("矩阵客户有限公司"))
        .await;
    let customer_id = customer["id"].as_str().unwrap().to_owned();
    let customer2 = app
        .create_customer(&sales.token, &customer_body("矩阵服务客户有限公司"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let work_order = new_order(&app, &admin.token, &customer2).await;
    let activity = post_json(
        &app,
        &sales.token,
        &format!("/api/v1/customers/{customer_id}/activities"),
        json!({"kind": "visit", "summary": "矩阵拜访"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let contract = new_contract(&app, &sales.token, &customer_id).await;
    let fixtures = Fixtures {
        activity,
        contract,
        agent: service.id.to_string(),
        work_order,
        customer2,
        user: target_user.to_string(),
        contact: customer["contacts"][0]["id"].as_str().unwrap().to_owned(),
        attachment: upload(&app, &sales.token, &customer_id).await,
        tag: post_json(
            &app,
            &admin.token,
            "/api/v1/tags",
            json!({"name": "矩阵标签"}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        lead: new_lead(&app, &sales.token).await,
        rule: new_rule(&app, &admin.token, &target_user.to_string()).await,
        deal: new_deal(&app, &sales.token, &customer_id).await,
        webhook: new_webhook(&app, &admin.token).await,
        customer: customer_id,
        admin: admin.clone(),
        sales: sales.clone(),
    };

    let mut failures = Vec::new();
    for case in MATRIX {
        for (idx, caller) in CALLERS.iter().enumerate() {
            let id = fixtures.target(&app, case.target).await;
            let path = case
                .path
                .replace("{id}", &id)
                .replace("{delivery_id}", &uuid::Uuid::now_v7().to_string());
            let method = Method::from_bytes(case.method.as_bytes()).unwrap();
            let mut request = authorize(
                app.request(method, &path),
                caller,
                &fixtures,
                &key_secret,
                &manager,
                &service,
            );
            if let Some(body) = case.body {
                let mut body = body
                    .replace("{unique}", &uuid::Uuid::now_v7().simple().to_string()[16..])
                    .replace("{uscc}", &crm_tests::random_uscc())
                    .replace("{login}", &login_name)
                    .replace("{password}", PASSWORD)
                    .replace("{user}", &fixtures.user)
                    .replace("{customer}", &fixtures.customer)
                    .replace("{customer2}", &fixtures.customer2)
                    .replace("{agent}", &fixtures.agent);
                if body.contains("{fresh_customer}") {
                    body = body.replace(
                        "{fresh_customer}",
                        &fixtures.target(&app, FreshCustomer).await,
                    );
                }
                request = request
                    .header("Content-Type", "application/json")
                    .body(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            if status != case.expect[idx] {
                let text = response.text().await.unwrap_or_default();
                failures.push(format!(
                    "{} {} as {caller}: expected {}, got {status}: {text}",
                    case.method, case.path, case.expect[idx]
                ));
            }
            // A caller who may not use the route learns nothing from its body: an empty or
            // malformed one gets the same 401, 403 or 404, never an answer about the body.
            // (Sign-in routes carry their credentials in the body, so they read it first.)
            if matches!(case.expect[idx], 401 | 403 | 404)
                && !case.path.starts_with("/api/v1/auth/")
            {
                for junk in ["", "{\"oops\": "] {
                    let method = Method::from_bytes(case.method.as_bytes()).unwrap();
                    let request = authorize(
                        app.request(method, &path),
                        caller,
                        &fixtures,
                        &key_secret,
                        &manager,
                        &service,
                    )
                    .header("Content-Type", "application/json")
                    .body(junk);
                    let status = request.send().await.unwrap().status().as_u16();
                    if status != case.expect[idx] {
                        failures.push(format!(
                            "{} {} as {caller} with body {junk:?}: expected {}, got {status}",
                            case.method, case.path, case.expect[idx]
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "access matrix violations:\n{}",
        failures.join("\n")
    );
}
