#!/usr/bin/env python3
"""A day in the CRM, driven only through the generated Python client (crm_api_client).

    python sdk/scenario.py BASE_URL ADMIN_PASSWORD

An admin signs in, enters a customer (and edits it under If-Match), makes an API key; an
integrator imports leads with that key; the admin converts one into a deal, moves it
30 → 60 → 90 → won, reads the forecast; a work order is opened for the customer and taken
through start, resolution and the follow-up visit to closed. Errors are checked to parse
into the Problem model. A webhook subscription made at the start receives every one of those
changes, signed, at a receiver this script runs; and the server's metrics count the requests
by route template. Every step asserts what a user would see; the first failure stops
the run with a message and exit status 1. sdk/run.sh starts a server and runs it.
"""

import datetime
import hashlib
import hmac
import http.server
import io
import json
import random
import sys
import threading
import time
import uuid

import httpx

from crm_api_client import AuthenticatedClient, Client
from crm_api_client.api.api_keys import create_api_key
from crm_api_client.api.attachments import download_attachment, upload_attachment
from crm_api_client.api.auth import get_me, login
from crm_api_client.api.customers import (
    create_customer,
    get_customer,
    list_customer_history,
    list_customers,
    update_customer,
)
from crm_api_client.api.leads import convert_lead, get_lead, import_leads
from crm_api_client.api.opportunities import (
    get_opportunity,
    list_opportunity_stages,
    update_opportunity,
    win_opportunity,
)
from crm_api_client.api.reports import get_forecast
from crm_api_client.api.users import create_user
from crm_api_client.api.webhooks import create_webhook, list_webhook_deliveries
from crm_api_client.api.work_orders import (
    cancel_work_order,
    close_work_order,
    create_work_order,
    get_work_order,
    list_work_order_notes,
    resolve_work_order,
    start_work_order,
)
from crm_api_client.models import (
    Attachment,
    AttachmentUpload,
    AuditAction,
    Category,
    Channel,
    CloseWorkOrder,
    Conversion,
    ConvertCustomer,
    ConvertDeal,
    ConvertLead,
    CreateApiKey,
    CreatedApiKey,
    CreateUser,
    Customer,
    CustomerList,
    CustomerPatch,
    CustomerSort,
    CustomerType,
    DealStatus,
    EntryKind,
    ErrorCode,
    FieldChange,
    Forecast,
    HistoryList,
    ImportReport,
    ImportRequest,
    Lead,
    LeadSource,
    LeadStatus,
    LoginRequest,
    NewContact,
    NewCustomer,
    NewLead,
    NewWorkOrder,
    Opportunity,
    OpportunityPatch,
    Probability,
    Problem,
    ReasonBody,
    ResolveWorkOrder,
    Role,
    RowStatus,
    Scope,
    Severity,
    StageList,
    StartWorkOrder,
    Timeline,
    TokenResponse,
    User,
    DeliveryStatus,
    NewWebhook,
    WebhookDeliveryList,
    WebhookEvent,
    WebhookWithSecret,
    WinOpportunity,
    WorkOrder,
    WorkOrderStatus,
)
from crm_api_client.types import File

STEP = ["start"]
PASSED = []


class ScenarioFailure(Exception):
    pass


def step(name):
    if STEP[0] != "start":
        PASSED.append(STEP[0])
    STEP[0] = name
    print(f"--> {name}", flush=True)


def check(condition, message):
    if not condition:
        raise ScenarioFailure(message)


def expect(response, status, model):
    """The answer has this status and parsed into this model; returns the parsed value."""
    parsed = response.parsed
    detail = f"{parsed.code}: {parsed.detail}" if isinstance(parsed, Problem) else response.content[:300]
    check(response.status_code == status, f"expected {status}, got {int(response.status_code)} ({detail})")
    check(isinstance(parsed, model), f"expected a {model.__name__}, parsed {type(parsed).__name__}")
    return parsed


def expect_problem(response, status, code):
    """The answer is an error with this status, parsed into the Problem model with this code."""
    problem = expect(response, status, Problem)
    check(problem.status == status, f"problem.status {problem.status} != {status}")
    check(problem.code == code, f"expected code {code.value}, got {problem.code}")
    check(problem.type_ == f"urn:crm:problem:{code.value}", f"unexpected problem type {problem.type_}")
    check(bool(problem.request_id), "the problem names no request_id")
    check(response.headers.get("x-request-id") == problem.request_id, "request_id differs from X-Request-Id")
    return problem


def etag(response):
    value = response.headers.get("etag")
    check(bool(value), "no ETag on the answer")
    return value


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(division="440300"):
    """A well-formed unified social credit code (GB 32100-2015) registered in `division`."""
    body = "91" + division + "".join(random.choice("0123456789") for _ in range(9))
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS))
    return body + USCC_ALPHABET[(31 - total % 31) % 31]


def mobile():
    return "139" + "".join(random.choice("0123456789") for _ in range(8))


def verify(secret, header, body, tolerance=300):
    """The signature check of docs/WEBHOOKS.md, as an integrator would write it."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    timestamps = [v for k, v in parts if k == "t"]
    signatures = [v for k, v in parts if k == "v1"]
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        return False
    if abs(time.time() - int(timestamps[0])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), timestamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


class Receiver(http.server.BaseHTTPRequestHandler):
    """An integrator's webhook endpoint: keeps every delivery and answers 204."""

    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        Receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def start_receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hooks/crm"


def main(base_url, admin_password):
    run = uuid.uuid4().hex[:8]
    today = datetime.datetime.now(datetime.UTC).date()
    anonymous = Client(base_url=base_url)

    step("the admin signs in")
    tokens = login.sync_detailed(client=anonymous, body=LoginRequest(username="admin", password=admin_password))
    tokens = expect(tokens, 200, TokenResponse)
    admin = AuthenticatedClient(base_url=base_url, token=tokens.access_token)
    me = expect(get_me.sync_detailed(client=admin), 200, User)
    check(me.username == "admin" and me.role == Role.ADMIN, f"signed in as {me.username} ({me.role})")

    step("the admin subscribes the integrator's endpoint to webhooks")
    wanted = [
        WebhookEvent.CUSTOMER_CREATED,
        WebhookEvent.LEAD_CREATED,
        WebhookEvent.LEAD_CONVERTED,
        WebhookEvent.OPPORTUNITY_STAGE_CHANGED,
        WebhookEvent.OPPORTUNITY_WON,
        WebhookEvent.WORK_ORDER_CREATED,
        WebhookEvent.WORK_ORDER_CLOSED,
    ]
    subscription = create_webhook.sync_detailed(
        client=admin, body=NewWebhook(url=start_receiver(), events=wanted, description="ERP sync")
    )
    subscription = expect(subscription, 201, WebhookWithSecret)
    check(subscription.secret.startswith("whsec_"), "the secret is not shown")
    check(subscription.active and subscription.events == wanted, "the subscription is not as asked")

    step("a wrong password is a 401 problem")
    wrong = login.sync_detailed(client=anonymous, body=LoginRequest(username="admin", password="not-the-password-1"))
    expect_problem(wrong, 401, ErrorCode.UNAUTHENTICATED)

    step("the admin adds a service agent (work orders are assigned to one at once)")
    agent = create_user.sync_detailed(
        client=admin,
        body=CreateUser(
            username=f"agent.{run}",
            display_name="赵敏",
            role=Role.SERVICE,
            password=f"Agent-{run}-pass",
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    agent = expect(agent, 201, User)
    check(agent.role == Role.SERVICE, f"the agent's role is {agent.role}")

    step("the admin enters a customer")
    code = uscc()
    key = str(uuid.uuid4())
    new_customer = NewCustomer(
        name=f"深圳市精工温控科技有限公司 {run}",
        uscc=code,
        industry_code="c35",
        customer_type=CustomerType.POTENTIAL,
        contacts=[NewContact(name="李伟", title="采购经理", mobile=mobile(), is_primary=True)],
        tags=["sdk", "温控"],
    )
    created = create_customer.sync_detailed(client=admin, body=new_customer, idempotency_key=key)
    customer = expect(created, 201, Customer)
    check(customer.uscc == code, "the USCC is not the one sent")
    check(customer.industry_code == "C35", f"industry code {customer.industry_code}, expected C35")
    check(customer.region == "44", f"region {customer.region}, expected 44 (from the USCC)")
    check(customer.customer_type == CustomerType.POTENTIAL, f"type {customer.customer_type}")
    check(len(customer.contacts) == 1 and customer.contacts[0].is_primary, "the contact is not primary")
    check(sorted(customer.tags) == ["sdk", "温控"], f"tags {customer.tags}")

    step("the same Idempotency-Key replays the creation")
    again = create_customer.sync_detailed(client=admin, body=new_customer, idempotency_key=key)
    replay = expect(again, 201, Customer)
    check(replay.id == customer.id, "a retry with the same key created a second customer")
    check(again.headers.get("idempotent-replayed") == "true", "no Idempotent-Replayed: true on the retry")

    step("the customer is found in the list")
    page = expect(list_customers.sync_detailed(client=admin, q=code, sort=CustomerSort.NAME_DESC), 200, CustomerList)
    check([c.id for c in page.items] == [customer.id], "the customer is not listed by its USCC")

    step("an edit needs the version last read (If-Match)")
    read = get_customer.sync_detailed(customer.id, client=admin)
    version = etag(read)
    patch = CustomerPatch(needs="年底前更换产线温控模块")
    edited = expect(
        update_customer.sync_detailed(customer.id, client=admin, body=patch, if_match=version), 200, Customer
    )
    check(edited.needs == "年底前更换产线温控模块", "the edit did not stick")
    check(edited.version == customer.version + 1, f"version {edited.version} after one edit")
    stale = update_customer.sync_detailed(customer.id, client=admin, body=patch, if_match=version)
    expect_problem(stale, 412, ErrorCode.PRECONDITION_FAILED)

    step("the change log reads as typed entries")
    history = expect(list_customer_history.sync_detailed(customer.id, client=admin), 200, HistoryList)
    actions = [e.action for e in history.items]
    check(actions[:2] == [AuditAction.UPDATED, AuditAction.CREATED], f"history actions {actions}")
    needs = history.items[0].changes["needs"]
    check(isinstance(needs, FieldChange), f"a change parsed as {type(needs).__name__}")
    check(needs.to == "年底前更换产线温控模块", f"the change of needs reads {needs.to!r}")

    step("a missing customer is a 404 Problem, not None")
    missing = get_customer.sync_detailed(uuid.uuid4(), client=admin)
    expect_problem(missing, 404, ErrorCode.NOT_FOUND)

    step("a business licence is attached and downloaded as bytes")
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    upload = AttachmentUpload(file=File(payload=io.BytesIO(pdf), file_name="营业执照.pdf", mime_type="application/pdf"))
    attachment = expect(
        upload_attachment.sync_detailed(customer.id, client=admin, body=upload, idempotency_key=str(uuid.uuid4())),
        201,
        Attachment,
    )
    check(attachment.content_type == "application/pdf" and attachment.size == len(pdf), "attachment metadata")
    download = download_attachment.sync_detailed(attachment.id, client=admin)
    file = expect(download, 200, File)
    check(file.payload.read() == pdf, "the downloaded bytes differ from the upload")

    step("the admin makes an API key for the web form integration")
    made = create_api_key.sync_detailed(
        client=admin,
        body=CreateApiKey(name=f"官网表单 {run}", scopes=[Scope.LEADS_WRITE]),
        idempotency_key=str(uuid.uuid4()),
    )
    api_key = expect(made, 201, CreatedApiKey)
    check(api_key.key and api_key.scopes == [Scope.LEADS_WRITE], "the key or its scopes are missing")
    integrator = AuthenticatedClient(base_url=base_url, token=api_key.key, prefix="", auth_header_name="X-API-Key")

    step("the integrator imports leads with the key")
    leads = [
        NewLead(
            source=LeadSource.FAIR,
            source_detail="2026 广交会 B 馆",
            company_name=f"佛山顺德家电配件有限公司 {run}",
            contact_name="陈静",
            mobile=mobile(),
            uscc=uscc("440600"),
            industry_code="C38",
            needs="需要智能温控模块的报价",
            external_id=f"fair-{run}-1",
        ),
        NewLead(
            source=LeadSource.WEBSITE,
            company_name=f"苏州工业园区精密模具有限公司 {run}",
            contact_name="王磊",
            email=f"wang.lei.{run}@example.com",
            external_id=f"form-{run}-2",
        ),
        NewLead(
            source=LeadSource.PHONE,
            company_name=f"杭州某某贸易有限公司 {run}",
            contact_name="周婷",
            mobile="12345",
            external_id=f"phone-{run}-3",
        ),
    ]
    imported = import_leads.sync_detailed(
        client=integrator, body=ImportRequest(leads=leads), idempotency_key=str(uuid.uuid4())
    )
    report = expect(imported, 200, ImportReport)
    summary = report.summary
    check(
        (summary.received, summary.created, summary.invalid) == (3, 2, 1),
        f"import summary received/created/invalid {summary.received}/{summary.created}/{summary.invalid}",
    )
    statuses = [r.status for r in report.rows]
    check(statuses == [RowStatus.CREATED, RowStatus.CREATED, RowStatus.INVALID], f"row statuses {statuses}")
    check([e.field for e in report.rows[2].errors] == ["mobile"], "the bad mobile is not named")
    lead_id = report.rows[0].lead_id

    step("the key reads back its own lead, and nothing else")
    lead = expect(get_lead.sync_detailed(lead_id, client=integrator), 200, Lead)
    check(lead.status == LeadStatus.NEW and lead.external_id == f"fair-{run}-1", f"lead {lead.status}")
    expect_problem(get_customer.sync_detailed(customer.id, client=integrator), 403, ErrorCode.FORBIDDEN)

    step("the admin converts the lead into a customer and a deal at 30 %")
    close_by = today + datetime.timedelta(days=30)
    conversion = convert_lead.sync_detailed(
        lead_id,
        client=admin,
        body=ConvertLead(
            customer=ConvertCustomer(contact_title="总经理"),
            opportunity=ConvertDeal(amount="1250000", expected_close_date=close_by, probability=Probability.VALUE_30),
        ),
    )
    conversion = expect(conversion, 200, Conversion)
    deal = conversion.opportunity
    check(conversion.lead.status == LeadStatus.CONVERTED, f"lead {conversion.lead.status}")
    check(conversion.lead.opportunity_id == deal.id, "the lead does not point at its deal")
    check(conversion.customer.name == leads[0].company_name, "the new customer is not named after the lead")
    check(deal.status == DealStatus.OPEN and deal.probability == 30, f"deal {deal.status} at {deal.probability}")
    check(
        deal.amount == "1250000.00" and deal.weighted_amount == "375000.00",
        f"deal {deal.amount}/{deal.weighted_amount}",
    )
    check(deal.name == f"{leads[0].company_name} 商机", f"deal name {deal.name!r}")
    again = convert_lead.sync_detailed(
        lead_id,
        client=admin,
        body=ConvertLead(
            customer=ConvertCustomer(contact_title="总经理"),
            opportunity=ConvertDeal(amount="1", expected_close_date=close_by, probability=Probability.VALUE_30),
        ),
    )
    expect_problem(again, 409, ErrorCode.ILLEGAL_TRANSITION)

    step("the deal moves 30 → 60 → 90")
    for probability, weighted in ((Probability.VALUE_60, "750000.00"), (Probability.VALUE_90, "1125000.00")):
        read = get_opportunity.sync_detailed(deal.id, client=admin)
        moved = update_opportunity.sync_detailed(
            deal.id, client=admin, body=OpportunityPatch(probability=probability), if_match=etag(read)
        )
        deal = expect(moved, 200, Opportunity)
        check(deal.probability == probability.value, f"probability {deal.probability}, expected {probability.value}")
        check(deal.weighted_amount == weighted, f"weighted {deal.weighted_amount}, expected {weighted}")
    stale = update_opportunity.sync_detailed(
        deal.id, client=admin, body=OpportunityPatch(probability=Probability.VALUE_60), if_match=etag(read)
    )
    expect_problem(stale, 412, ErrorCode.PRECONDITION_FAILED)

    step("the deal is won")
    won = win_opportunity.sync_detailed(
        deal.id, client=admin, body=WinOpportunity(amount="1300000"), if_match=etag(moved)
    )
    deal = expect(won, 200, Opportunity)
    check(deal.status == DealStatus.WON and deal.probability == 100, f"deal {deal.status} at {deal.probability}")
    check(
        deal.amount == "1300000.00" and deal.weighted_amount == "0.00", f"won deal {deal.amount}/{deal.weighted_amount}"
    )
    check(deal.closed_on == today, f"closed on {deal.closed_on}, expected {today}")
    after = update_opportunity.sync_detailed(
        deal.id, client=admin, body=OpportunityPatch(probability=Probability.VALUE_90), if_match="*"
    )
    problem = expect_problem(after, 409, ErrorCode.ILLEGAL_TRANSITION)
    check(problem.allowed == ["reopen"], f"allowed moves of a won deal: {problem.allowed}")
    stages = expect(list_opportunity_stages.sync_detailed(deal.id, client=admin), 200, StageList)
    check(
        [s.to_probability for s in stages.items] == [30, 60, 90, 100],
        f"stages {[s.to_probability for s in stages.items]}",
    )
    buyer = expect(get_customer.sync_detailed(conversion.customer.id, client=admin), 200, Customer)
    check(buyer.customer_type == CustomerType.CUSTOMER, f"the buyer is still {buyer.customer_type}")

    step("the forecast counts the won deal")
    forecast = expect(get_forecast.sync_detailed(client=admin), 200, Forecast)
    check(forecast.from_ <= today <= forecast.to, f"forecast range {forecast.from_}..{forecast.to}")
    check(forecast.totals.won_count == 1, f"won_count {forecast.totals.won_count}")
    check(forecast.totals.won_amount == "1300000.00", f"won_amount {forecast.totals.won_amount}")
    mine = [g for g in forecast.groups if g.key == str(me.id)]
    check(len(mine) == 1 and mine[0].won_count == 1, "the admin's group does not show the won deal")

    step("a work order is opened and assigned to the agent at once")
    opened = create_work_order.sync_detailed(
        client=admin,
        body=NewWorkOrder(
            customer_id=customer.id,
            title="温控模块报警 E3",
            description="2 号产线温控模块反复报警 E3，需上门检修。",
            category=Category.REPAIR,
            severity=Severity.HIGH,
            channel=Channel.PHONE,
            contact_id=customer.contacts[0].id,
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    order = expect(opened, 201, WorkOrder)
    check(order.status == WorkOrderStatus.ASSIGNED, f"work order {order.status}, expected assigned")
    check(order.assignee_id == agent.id, "the order is not the agent's")
    check(order.number.startswith("WO-") and len(order.number) == len("WO-YYYYMMDD-NNNN"), f"number {order.number}")

    step("the work order is started, resolved and closed after the follow-up visit")
    order = expect(
        start_work_order.sync_detailed(order.id, client=admin, body=StartWorkOrder(note="已电话联系客户，约明早上门")),
        200,
        WorkOrder,
    )
    check(order.status == WorkOrderStatus.IN_PROGRESS and order.responded_at, f"started order {order.status}")
    order = expect(
        resolve_work_order.sync_detailed(
            order.id, client=admin, body=ResolveWorkOrder(resolution="更换温度传感器，报警消除")
        ),
        200,
        WorkOrder,
    )
    check(order.status == WorkOrderStatus.RESOLVED and order.resolution, f"resolved order {order.status}")
    version = etag(get_work_order.sync_detailed(order.id, client=admin))
    order = expect(
        close_work_order.sync_detailed(
            order.id, client=admin, body=CloseWorkOrder(satisfaction=5, comment="客户满意，运行正常"), if_match=version
        ),
        200,
        WorkOrder,
    )
    check(order.status == WorkOrderStatus.CLOSED and order.closed_at, f"closed order {order.status}")
    check(
        order.visit and order.visit.satisfaction == 5 and order.visit.visited_by == me.id, "the visit is not recorded"
    )
    cancelled = cancel_work_order.sync_detailed(order.id, client=admin, body=ReasonBody(reason="重复工单"))
    expect_problem(cancelled, 409, ErrorCode.ILLEGAL_TRANSITION)
    timeline = expect(list_work_order_notes.sync_detailed(order.id, client=admin), 200, Timeline)
    kinds = [e.kind for e in timeline.items]
    for kind in (EntryKind.CREATED, EntryKind.STATUS, EntryKind.VISIT):
        check(kind in kinds, f"the timeline lacks {kind.value}: {[k.value for k in kinds]}")
    moves = [(e.from_status, e.to_status) for e in timeline.items if e.kind == EntryKind.STATUS]
    check(
        moves[-3:]
        == [
            (WorkOrderStatus.ASSIGNED, WorkOrderStatus.IN_PROGRESS),
            (WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.RESOLVED),
            (WorkOrderStatus.RESOLVED, WorkOrderStatus.CLOSED),
        ],
        f"status moves {moves}",
    )

    step("the integrator received every change, signed, each once")
    expected = {"customer.created", "lead.created", "lead.converted", "opportunity.stage_changed",
                "opportunity.won", "work_order.created", "work_order.closed"}
    deadline = time.time() + 30
    while time.time() < deadline:
        types = {json.loads(body)["type"] for _, body in Receiver.received}
        if expected <= types:
            break
        time.sleep(0.2)
    events = [(headers, body, json.loads(body)) for headers, body in Receiver.received]
    types = {event["type"] for _, _, event in events}
    check(expected <= types, f"missing webhook events: {sorted(expected - types)}")
    check(types <= {w.value for w in wanted}, f"events not subscribed to: {sorted(types - {w.value for w in wanted})}")
    for headers, body, event in events:
        check(verify(subscription.secret, headers["crm-signature"], body), f"bad signature on {event['type']}")
        check(headers["crm-event-id"] == event["id"], "Crm-Event-Id differs from the body's id")
    ids = [event["id"] for _, _, event in events]
    check(len(ids) == len(set(ids)), "an event arrived twice")
    won = [event for _, _, event in events if event["type"] == "opportunity.won"]
    check(won and won[0]["data"]["id"] == str(deal.id), "opportunity.won does not carry the deal")
    log = expect(list_webhook_deliveries.sync_detailed(subscription.id, client=admin, limit=200), 200, WebhookDeliveryList)
    check(len(log.items) == len(events), f"{len(log.items)} deliveries logged for {len(events)} received")
    for delivery in log.items:
        check(delivery.status == DeliveryStatus.SUCCEEDED, f"delivery {delivery.id} is {delivery.status}")
        check(delivery.attempts[0].status_code == 204, "the attempt's status is not logged")

    step("the operator's scrape counts requests by route template")
    metrics = httpx.get(base_url + "/metrics", timeout=10)
    check(metrics.status_code == 200, f"/metrics answered {metrics.status_code}")
    check(metrics.headers["content-type"].startswith("text/plain; version=0.0.4"), "not the Prometheus text format")
    check('route="/api/v1/customers/{id}"' in metrics.text, "no counter for the customer route template")
    check(str(customer.id) not in metrics.text, "a raw id in a metric label")
    for name in ("crm_http_request_duration_seconds_bucket", "crm_db_pool_connections", "crm_jobs_total",
                 "crm_webhook_attempts_total", "crm_webhook_deliveries_pending"):
        check(name in metrics.text, f"{name} is not exposed")

    step("a malformed body is a 422 Problem listing every field")
    bad = create_customer.sync_detailed(
        client=admin,
        body=NewCustomer(
            name="X",
            uscc="91440300000000000X",
            industry_code="Z99",
            customer_type=CustomerType.POTENTIAL,
            contacts=[NewContact(name="李伟", title="采购经理", mobile="12345", is_primary=True)],
        ),
    )
    problem = expect_problem(bad, 422, ErrorCode.VALIDATION_FAILED)
    fields = {e.field for e in problem.errors}
    for field in ("name", "uscc", "industry_code", "contacts[0].mobile"):
        check(field in fields, f"the 422 does not name {field}: {sorted(fields)}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: scenario.py BASE_URL ADMIN_PASSWORD")
    try:
        main(sys.argv[1], sys.argv[2])
    except ScenarioFailure as failure:
        print(f"FAILED at '{STEP[0]}': {failure}", file=sys.stderr)
        print(f"scenario: {len(PASSED)} passed, 1 failed")
        sys.exit(1)
    except Exception as error:  # a crash inside the client is a failure too
        print(f"FAILED at '{STEP[0]}' with {type(error).__name__}: {error}", file=sys.stderr)
        print(f"scenario: {len(PASSED)} passed, 1 failed")
        raise
    PASSED.append(STEP[0])
    print(f"scenario: {len(PASSED)} passed, 0 failed")
