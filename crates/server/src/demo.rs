//! `crm demo-data`: fills a database with realistic, valid customers (valid USCCs with
//! their check character, real industry and province codes, Chinese company and person
//! names, contacts with valid mobiles, tags), assignment rules, leads from fairs and the
//! website (some of them duplicates of customers), and deals in every stage — open at 30, 60
//! and 90 percent, won and lost over the past year — so that a new user sees a pipeline; and
//! a service desk: agents, the 2026 holiday calendar, and work orders in every state, some
//! of them late and escalated; and a year of relationship upkeep: communication records,
//! contracts (some ending within 90 days), surveys, referrals, birthdays, care holidays, and
//! the reminders all of that makes.
//! Everything goes through the use cases (`customers::create_batch`, `assignment_rules::create`,
//! `leads::import`, `opportunities::create_batch`, `work_orders::*`): every check applies,
//! each record gets its audit entry and event.

use std::time::Instant;

use chrono::{Duration, Utc};
use crm_app::customers::dto::{NewContact, NewCustomer};
use crm_app::{Caller, Ctx};
use crm_domain::access::Role;
use crm_domain::customer::Uscc;
use crm_store::{ConnectionTrait, users};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::identity::{self, NewAccount};

const BATCH: usize = 500;
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

const CITIES: &[(&str, &str)] = &[
    ("11", "北京"),
    ("12", "天津"),
    ("13", "石家庄"),
    ("14", "太原"),
    ("21", "沈阳"),
    ("21", "大连"),
    ("22", "长春"),
    ("23", "哈尔滨"),
    ("31", "上海"),
    ("32", "南京"),
    ("32", "苏州"),
    ("32", "无锡"),
    ("33", "杭州"),
    ("33", "宁波"),
    ("34", "合肥"),
    ("35", "福州"),
    ("35", "厦门"),
    ("36", "南昌"),
    ("37", "济南"),
    ("37", "青岛"),
    ("41", "郑州"),
    ("42", "武汉"),
    ("43", "长沙"),
    ("44", "广州"),
    ("44", "深圳"),
    ("44", "东莞"),
    ("44", "佛山"),
    ("45", "南宁"),
    ("50", "重庆"),
    ("51", "成都"),
    ("52", "贵阳"),
    ("53", "昆明"),
    ("61", "西安"),
    ("62", "兰州"),
    ("65", "乌鲁木齐"),
];
const BRAND: &[&str] = &[
    "华", "瑞", "泰", "达", "鑫", "恒", "宏", "盛", "创", "科", "远", "通", "汇", "智", "博", "信",
    "诚", "新", "源", "天", "海", "德", "嘉", "隆", "腾", "飞", "锦", "润", "安", "众", "联", "优",
    "卓", "凯", "正", "明",
];
const LINES: &[(&str, &str)] = &[
    ("C35", "智能装备"),
    ("C34", "通用机械"),
    ("C39", "电子科技"),
    ("C38", "电气"),
    ("C26", "化工"),
    ("C27", "医药"),
    ("C36", "汽车零部件"),
    ("C13", "食品"),
    ("C29", "塑胶制品"),
    ("C33", "五金制品"),
    ("I65", "软件"),
    ("I64", "网络科技"),
    ("F51", "商贸"),
    ("G58", "供应链管理"),
    ("E48", "建设工程"),
    ("M74", "检测技术"),
    ("L72", "企业管理咨询"),
    ("K70", "置业"),
    ("D44", "新能源"),
    ("C40", "仪器仪表"),
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "建华", "志强", "海燕", "子轩", "雨涵",
];
const TITLES: &[&str] = &[
    "采购经理",
    "总经理",
    "技术总监",
    "财务经理",
    "设备主管",
    "运营总监",
    "采购专员",
    "项目经理",
    "副总经理",
    "行政主管",
];
/// Tags and the share of customers carrying each.
const TAGS: &[(&str, f64)] = &[
    ("高潜力客户", 0.30),
    ("意向产品A", 0.25),
    ("意向产品B", 0.15),
    ("重点跟进", 0.20),
    ("展会线索", 0.15),
    ("老客户转介绍", 0.08),
    ("价格敏感", 0.12),
    ("技术导向", 0.10),
    ("投诉风险", 0.05),
    ("年度框架协议", 0.06),
];
const SCALES: &[&str] = &["micro", "small", "medium", "large"];
const SOURCES: &[&str] = &[
    "website", "fair", "referral", "phone", "social", "partner", "other",
];

fn uscc(rng: &mut StdRng, region: &str, salt: &str, n: usize) -> String {
    let mut serial = String::new();
    let mut rest = n;
    for _ in 0..5 {
        serial.insert(0, char::from(USCC_ALPHABET[rest % 31]));
        rest /= 31;
    }
    let city = rng.random_range(1..=20);
    let first17 = format!("91{region}{city:02}00{salt}{serial}");
    Uscc::with_check(&first17)
        .map(|u| u.to_string())
        .unwrap_or_default()
}

fn mobile(rng: &mut StdRng) -> String {
    format!(
        "1{}{:09}",
        rng.random_range(3..=9),
        rng.random_range(0..1_000_000_000u32)
    )
}

fn person(rng: &mut StdRng) -> String {
    format!(
        "{}{}",
        SURNAMES.choose(rng).copied().unwrap_or("王"),
        GIVEN.choose(rng).copied().unwrap_or("伟")
    )
}

/// The sales reps to own the customers: the active ones, or five new demo accounts.
async fn owners(ctx: &Ctx) -> anyhow::Result<Vec<Uuid>> {
    let filter = users::UserFilter {
        role: Some("sales".to_owned()),
        active: Some(true),
        not_logged_in_since: None,
    };
    let existing: Vec<Uuid> = users::list(&ctx.db, &filter, None, 1000)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    if !existing.is_empty() {
        return Ok(existing);
    }
    let password = identity::generate_password();
    let mut ids = Vec::new();
    for n in 1..=5 {
        let user = identity::create_account(
            ctx,
            NewAccount {
                username: format!("demo.sales{n:02}"),
                display_name: format!("演示销售{n:02}"),
                email: None,
                role: Role::Sales,
                region: None,
                team: Some("演示团队".to_owned()),
                password: password.clone(),
            },
        )
        .await?;
        ids.push(user.id);
    }
    println!(
        "created sales accounts demo.sales01 … demo.sales05, password (shown once): {password}"
    );
    Ok(ids)
}

/// How much demo data to add.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// Customers.
    pub customers: usize,
    /// Leads (imports of at most 1,000).
    pub leads: usize,
    /// Deals, spread over the new customers.
    pub deals: usize,
    /// Service work orders, spread over the new customers.
    pub work_orders: usize,
    /// Customers given a year of relationship history: communication records, contracts
    /// (some ending within 90 days), surveys.
    pub upkeep: usize,
}

impl Size {
    /// `customers` customers with a lead for every ten and a deal for each.
    pub fn for_customers(customers: usize) -> Self {
        Self {
            customers,
            leads: customers / 10,
            deals: customers,
            work_orders: (customers / 20).clamp(customers.min(40), 1000),
            upkeep: customers.min(600),
        }
    }
}

/// Fresh planner statistics while tables grow from nothing. PostgreSQL plans a statement
/// from what it last knew of the tables (a prepared statement keeps its plan), and a plan
/// made when a table was empty scans it whole once it holds a million rows. Autovacuum
/// analyses growing tables where it runs; where it is off (a bulk-load setting some
/// servers use) the load does it itself, each time the rows of the table it fills double.
struct Statistics {
    next: usize,
}

impl Statistics {
    fn new() -> Self {
        Self { next: 1000 }
    }

    /// `rows` written so far; on PostgreSQL, vacuums and analyses the database when they
    /// have doubled, so that the planner knows the tables' sizes and index-only scans see
    /// the pages as all-visible even where autovacuum is slow or off.
    async fn grown(&mut self, ctx: &Ctx, rows: usize) -> anyhow::Result<()> {
        if rows < self.next {
            return Ok(());
        }
        self.next = rows.saturating_mul(2);
        if ctx.db.get_database_backend() == crm_store::DbBackend::Postgres {
            ctx.db
                .execute_unprepared("VACUUM (ANALYZE)")
                .await
                .map_err(crm_store::StoreError::from)?;
        }
        Ok(())
    }
}

/// Loads demo customers, rules, leads and deals; returns how long it took.
pub async fn load(ctx: &Ctx, size: Size, seed: u64) -> anyhow::Result<std::time::Duration> {
    let started = Instant::now();
    let count = size.customers;
    let mut rng = StdRng::seed_from_u64(seed);
    let owners = owners(ctx).await?;
    // A salt per run keeps codes unique across runs into the same database.
    let salt: String = (0..4)
        .map(|_| char::from(*USCC_ALPHABET.choose(&mut rand::rng()).unwrap_or(&b'0')))
        .collect();
    let today = Utc::now().date_naive();

    let mut loaded: Vec<(Uuid, Uuid, String)> = Vec::with_capacity(count);
    let mut statistics = Statistics::new();
    let mut done = 0;
    while done < count {
        // Small first batches in small loads, so that later ones have customers to be
        // referred by.
        let size = BATCH.min((count / 10).max(10)).min(count - done);
        let mut bodies = Vec::with_capacity(size);
        for i in 0..size {
            let n = done + i;
            let (region, city) = *CITIES.choose(&mut rng).unwrap_or(&("11", "北京"));
            let (industry, line) = *LINES.choose(&mut rng).unwrap_or(&("C35", "智能装备"));
            let brand = format!(
                "{}{}",
                BRAND.choose(&mut rng).unwrap_or(&"华"),
                BRAND.choose(&mut rng).unwrap_or(&"瑞")
            );
            let form = if rng.random_bool(0.15) {
                "股份有限公司"
            } else {
                "有限公司"
            };
            let customer_type = match rng.random_range(0..10) {
                0..=4 => "potential",
                5..=8 => "customer",
                _ => "lost",
            };
            // Log-uniform budgets from 10 to 5000 万元.
            let budget_wan = 10f64 * 500f64.powf(rng.random::<f64>());
            let cooperation_since = (customer_type != "potential")
                .then(|| (today - Duration::days(rng.random_range(30..5000))).to_string());
            let contacts = (0..rng.random_range(1..=3))
                .map(|k| NewContact {
                    name: person(&mut rng),
                    title: (*TITLES.choose(&mut rng).unwrap_or(&"经理")).to_owned(),
                    mobile: mobile(&mut rng),
                    email: rng
                        .random_bool(0.5)
                        .then(|| format!("contact{n}.{k}@example.com")),
                    birthday: rng.random_bool(0.3).then(|| {
                        (today - Duration::days(rng.random_range(25 * 365..60 * 365))).to_string()
                    }),
                    is_primary: k == 0,
                })
                .collect();
            let tags = TAGS
                .iter()
                .filter(|(_, share)| rng.random_bool(*share))
                .map(|(name, _)| (*name).to_owned())
                .collect();
            bodies.push(NewCustomer {
                name: format!("{city}{brand}{line}{form}"),
                uscc: uscc(&mut rng, region, &salt, n),
                industry_code: industry.to_owned(),
                customer_type: customer_type.to_owned(),
                contacts,
                annual_budget: Some(format!("{budget_wan:.2}")),
                needs: rng
                    .random_bool(0.4)
                    .then(|| "希望了解新一代产品的价格与交付周期".to_owned()),
                scale: Some((*SCALES.choose(&mut rng).unwrap_or(&"small")).to_owned()),
                source: Some((*SOURCES.choose(&mut rng).unwrap_or(&"other")).to_owned()),
                address: Some(format!(
                    "{city}市{}路{}号",
                    BRAND.choose(&mut rng).unwrap_or(&"华"),
                    rng.random_range(1..999)
                )),
                phone: None,
                region: Some(region.to_owned()),
                owner_id: Some(owners[n % owners.len()]),
                cooperation_since,
                influence: Some(rng.random_range(1..=5)),
                // One in twenty was brought by an earlier customer (客户推荐).
                referred_by: (!loaded.is_empty() && rng.random_bool(0.05))
                    .then(|| loaded.choose(&mut rng).map(|(id, _, _)| *id))
                    .flatten(),
                tags,
            });
        }
        let facts: Vec<(Uuid, String)> = bodies
            .iter()
            .map(|b| {
                (
                    b.owner_id.unwrap_or_default(),
                    b.contacts
                        .first()
                        .map(|k| k.mobile.clone())
                        .unwrap_or_default(),
                )
            })
            .collect();
        let ids = crm_app::customers::create_batch(ctx, &Caller::System, bodies)
            .await
            .map_err(|e| anyhow::anyhow!(identity::describe(&e)))?;
        loaded.extend(
            ids.into_iter()
                .zip(facts)
                .map(|(id, (owner, mobile))| (id, owner, mobile)),
        );
        done += size;
        statistics.grown(ctx, done).await?;
    }
    rules(ctx, &owners).await?;
    leads(ctx, &mut rng, size.leads, &loaded).await?;
    deals(ctx, &mut rng, size.deals, &loaded).await?;
    service(ctx, &mut rng, size.work_orders, &loaded).await?;
    upkeep(ctx, &mut rng, size.upkeep, &loaded).await?;
    // Fresh statistics for the query planner after a bulk load; on PostgreSQL also the
    // visibility map, so that index-only scans (the forecast's) need not visit the table.
    let analyze = match ctx.db.get_database_backend() {
        crm_store::DbBackend::Sqlite => "PRAGMA optimize",
        _ => "VACUUM (ANALYZE)",
    };
    ctx.db
        .execute_unprepared(analyze)
        .await
        .map_err(crm_store::StoreError::from)?;
    Ok(started.elapsed())
}

/// Three assignment rules, unless the database has some already: southern fair leads and
/// eastern website leads round-robin over two halves of the reps, manufacturing to all.
async fn rules(ctx: &Ctx, owners: &[Uuid]) -> anyhow::Result<()> {
    use crm_app::assignment_rules::{self, NewRule};
    let existing = assignment_rules::list(ctx, &Caller::System)
        .await
        .map_err(|e| anyhow::anyhow!(identity::describe(&e)))?;
    if !existing.items.is_empty() {
        return Ok(());
    }
    let half = owners.len().div_ceil(2);
    let (south, east) = owners.split_at(half);
    let east = if east.is_empty() { south } else { east };
    let rules = [
        (
            "华南展会线索",
            vec!["44", "45", "46", "35"],
            vec![],
            vec!["fair"],
            south.to_vec(),
        ),
        (
            "华东官网咨询",
            vec!["31", "32", "33", "34"],
            vec![],
            vec!["website"],
            east.to_vec(),
        ),
        ("制造业线索", vec![], vec!["C"], vec![], owners.to_vec()),
    ];
    for (name, regions, industries, sources, assignees) in rules {
        let input = NewRule {
            position: None,
            name: name.to_owned(),
            regions: Some(regions.into_iter().map(str::to_owned).collect()),
            industries: Some(industries.into_iter().map(str::to_owned).collect()),
            sources: Some(
                sources
                    .into_iter()
                    .filter_map(crm_domain::lead::LeadSource::parse)
                    .collect(),
            ),
            assignees,
            active: None,
        };
        assignment_rules::create(ctx, &Caller::System, input.into())
            .await
            .map_err(|e| anyhow::anyhow!(identity::describe(&e)))?;
    }
    Ok(())
}

/// `count` leads from fairs, the website, referrals and calls, imported 1,000 at a time;
/// one in twenty carries the mobile of an existing customer's contact (a duplicate).
async fn leads(
    ctx: &Ctx,
    rng: &mut StdRng,
    count: usize,
    customers: &[(Uuid, Uuid, String)],
) -> anyhow::Result<()> {
    const FAIRS: &[&str] = &["2026 广交会 B 馆", "上海工博会", "深圳高交会", "成都西博会"];
    let mut statistics = Statistics::new();
    let mut done = 0;
    while done < count {
        let size = crm_app::leads::MAX_ROWS.min(count - done);
        let mut rows = Vec::with_capacity(size);
        for i in 0..size {
            let n = done + i;
            let (region, city) = *CITIES.choose(rng).unwrap_or(&("11", "北京"));
            let (industry, line) = *LINES.choose(rng).unwrap_or(&("C35", "智能装备"));
            let source = *["fair", "fair", "website", "website", "referral", "phone"]
                .choose(rng)
                .unwrap_or(&"fair");
            let duplicate = rng.random_bool(0.05);
            let phone = match customers.choose(rng) {
                Some((_, _, m)) if duplicate => m.clone(),
                _ => mobile(rng),
            };
            rows.push(serde_json::json!({
                "source": source,
                "source_detail": (source == "fair").then(|| *FAIRS.choose(rng).unwrap_or(&"展会")),
                "company_name": format!(
                    "{city}{}{}{line}有限公司",
                    BRAND.choose(rng).unwrap_or(&"华"),
                    BRAND.choose(rng).unwrap_or(&"瑞")
                ),
                "contact_name": person(rng),
                "mobile": phone,
                "email": rng.random_bool(0.3).then(|| format!("lead{n}.{}@example.com", rng.random_range(0..100_000))),
                "region": region,
                "industry_code": industry,
                "needs": rng.random_bool(0.5).then_some("索取报价和产品手册"),
                "referred_by": (source == "referral").then(|| customers.choose(rng).map(|c| c.0)).flatten(),
            }));
        }
        let request = crm_app::leads::ImportRequest { leads: rows };
        let report = crm_app::leads::import(ctx, &Caller::System, request.into())
            .await
            .map_err(|e| anyhow::anyhow!(identity::describe(&e)))?;
        if report.summary.invalid > 0 {
            anyhow::bail!("{} demo leads were refused", report.summary.invalid);
        }
        done += size;
        statistics.grown(ctx, done).await?;
    }
    Ok(())
}

/// `count` deals over the new customers, owned by their owners: three in ten open at 30 %,
/// two at 60 %, one and a half at 90 %, two won and one and a half lost in the past year.
async fn deals(
    ctx: &Ctx,
    rng: &mut StdRng,
    count: usize,
    customers: &[(Uuid, Uuid, String)],
) -> anyhow::Result<()> {
    use crm_app::opportunities::{DealRecord, NewOpportunity, Outcome};
    const WHAT: &[&str] = &[
        "年度框架采购",
        "产线改造",
        "设备更新",
        "备件补货",
        "软件升级",
        "维保服务",
    ];
    const WHY: &[&str] = &[
        "价格高于竞争对手",
        "预算取消",
        "选择了现有供应商",
        "项目延期",
    ];
    if customers.is_empty() {
        return Ok(());
    }
    let today = Utc::now().date_naive();
    let mut statistics = Statistics::new();
    let mut done = 0;
    while done < count {
        let size = 1000.min(count - done);
        let mut records = Vec::with_capacity(size);
        for _ in 0..size {
            let Some((customer, owner, _)) = customers.choose(rng) else {
                break;
            };
            // Log-uniform amounts from 10,000 to 5,000,000 yuan.
            let amount = 10_000f64 * 500f64.powf(rng.random::<f64>());
            let amount = format!("{amount:.2}");
            let roll = rng.random_range(0..200);
            let (probability, outcome) = match roll {
                0..60 => (30, None),
                60..100 => (60, None),
                100..130 => (90, None),
                130..170 => (
                    90,
                    Some(Outcome::Won {
                        amount: amount.clone(),
                        on: today - Duration::days(rng.random_range(1..330)),
                    }),
                ),
                _ => (
                    30,
                    Some(Outcome::Lost {
                        reason: (*WHY.choose(rng).unwrap_or(&"预算取消")).to_owned(),
                        on: today - Duration::days(rng.random_range(1..330)),
                    }),
                ),
            };
            let expected = match &outcome {
                Some(Outcome::Won { on, .. } | Outcome::Lost { on, .. }) => *on,
                None => today + Duration::days(rng.random_range(0..240)),
            };
            records.push(DealRecord {
                deal: NewOpportunity {
                    customer_id: *customer,
                    name: (*WHAT.choose(rng).unwrap_or(&"年度框架采购")).to_owned(),
                    amount,
                    expected_close_date: expected.to_string(),
                    probability,
                    owner_id: Some(*owner),
                },
                outcome,
            });
        }
        crm_app::opportunities::create_batch(ctx, &Caller::System, records)
            .await
            .map_err(|e| anyhow::anyhow!(identity::describe(&e)))?;
        done += size;
        statistics.grown(ctx, done).await?;
    }
    Ok(())
}

/// Service agents (three demo accounts unless some exist), the 2026 work calendar (unless
/// one was saved), and `count` work orders opened over the past two weeks in every state:
/// a few opened before any agent existed wait in the managers' queue (`new`); the rest are
/// assigned, started, resolved, closed after their visit, cancelled or reopened. Orders left
/// unanswered past their due times are marked and escalated by the sweep at the end.
async fn service(
    ctx: &Ctx,
    rng: &mut StdRng,
    count: usize,
    customers: &[(Uuid, Uuid, String)],
) -> anyhow::Result<()> {
    use crm_app::Input;
    use crm_app::input::IfMatch;
    use crm_app::work_orders::{
        self as wo, CloseWorkOrder, NewWorkOrder, ReasonBody, ResolveWorkOrder, StartWorkOrder,
    };
    const PROBLEMS: &[(&str, &str, &str)] = &[
        (
            "repair",
            "温控模块报过热告警",
            "二号产线多台温控模块同时报过热，部分工位停机。",
        ),
        (
            "repair",
            "伺服驱动器频繁报错",
            "伺服驱动器每隔数小时报 E-021，需人工复位。",
        ),
        (
            "installation",
            "新产线设备安装调试",
            "新采购的三台设备已到货，需安排安装与调试。",
        ),
        (
            "consultation",
            "固件升级方案咨询",
            "客户询问 v3.2 固件的升级步骤与停机时间。",
        ),
        (
            "complaint",
            "交付延期投诉",
            "备件交付比合同约定晚了一周，客户要求说明原因。",
        ),
        (
            "other",
            "年度巡检预约",
            "客户希望预约下季度的年度设备巡检。",
        ),
    ];
    if customers.is_empty() || count == 0 {
        return Ok(());
    }
    let to_app = |e: crm_app::AppError| anyhow::anyhow!(identity::describe(&e));
    let system = Caller::System;
    let saved = crm_app::service_policy::get_calendar(ctx, &system)
        .await
        .map_err(to_app)?;
    if saved.version == 0 {
        crm_app::service_policy::put_calendar(
            ctx,
            &system,
            IfMatch::Absent,
            Input::ready(calendar_2026()),
        )
        .await
        .map_err(to_app)?;
    }
    let filter = users::UserFilter {
        role: Some("service".to_owned()),
        active: Some(true),
        not_logged_in_since: None,
    };
    let mut agents_exist = !users::list(&ctx.db, &filter, None, 1).await?.is_empty();
    let queue = if agents_exist { 0 } else { count.min(3) };
    let now = Utc::now();
    let mut statistics = Statistics::new();
    for n in 0..count {
        statistics.grown(ctx, n).await?;
        if n == queue && !agents_exist {
            service_agents(ctx).await?;
            agents_exist = true;
        }
        let Some((customer, _, _)) = customers.choose(rng) else {
            break;
        };
        let (category, title, description) = *PROBLEMS.choose(rng).unwrap_or(&PROBLEMS[0]);
        let severity = match rng.random_range(0..10) {
            0 => "critical",
            1..=3 => "high",
            4..=7 => "normal",
            _ => "low",
        };
        let channel = *["phone", "phone", "wechat", "email", "web"]
            .choose(rng)
            .unwrap_or(&"phone");
        let opened = now - Duration::minutes(rng.random_range(5..14 * 24 * 60));
        let body = NewWorkOrder {
            customer_id: *customer,
            contact_id: None,
            title: title.to_owned(),
            description: description.to_owned(),
            category: category.to_owned(),
            severity: severity.to_owned(),
            channel: channel.to_owned(),
        };
        let order = wo::create_opened(ctx, &system, body, opened)
            .await
            .map_err(to_app)?;
        if n < queue {
            continue;
        }
        let roll = rng.random_range(0..100);
        let id = order.id;
        let any = || IfMatch::Absent;
        if roll >= 15 {
            wo::start(
                ctx,
                &system,
                id,
                any(),
                Input::ready(StartWorkOrder::default()),
            )
            .await
            .map_err(to_app)?;
        }
        if (85..92).contains(&roll) {
            let reason = ReasonBody {
                reason: "客户来电确认问题已自行解决".to_owned(),
            };
            wo::cancel(ctx, &system, id, any(), Input::ready(reason))
                .await
                .map_err(to_app)?;
            continue;
        }
        if roll >= 35 {
            let done = ResolveWorkOrder {
                resolution: "现场更换故障部件并升级固件，测试通过".to_owned(),
            };
            wo::resolve(ctx, &system, id, any(), Input::ready(done))
                .await
                .map_err(to_app)?;
        }
        if (50..85).contains(&roll) {
            let visit = CloseWorkOrder {
                satisfaction: *[5, 5, 5, 4, 4, 3, 2].choose(rng).unwrap_or(&5),
                comment: "客户确认设备运行正常，对处理结果满意".to_owned(),
            };
            wo::close(ctx, &system, id, any(), Input::ready(visit))
                .await
                .map_err(to_app)?;
        } else if roll >= 92 {
            let back = ReasonBody {
                reason: "客户反馈问题再次出现".to_owned(),
            };
            wo::reopen(ctx, &system, id, any(), Input::ready(back))
                .await
                .map_err(to_app)?;
        }
    }
    wo::sweep(ctx).await.map_err(to_app)?;
    Ok(())
}

/// Three demo service agents in two regions.
async fn service_agents(ctx: &Ctx) -> anyhow::Result<()> {
    let password = identity::generate_password();
    for (n, region) in [(1, "44"), (2, "31"), (3, "11")] {
        identity::create_account(
            ctx,
            NewAccount {
                username: format!("demo.service{n:02}"),
                display_name: format!("演示客服{n:02}"),
                email: None,
                role: Role::Service,
                region: Some(region.to_owned()),
                team: Some("客服中心".to_owned()),
                password: password.clone(),
            },
        )
        .await?;
    }
    println!(
        "created service accounts demo.service01 … demo.service03, password (shown once): {password}"
    );
    Ok(())
}

/// The 2026 work calendar of a Chinese office: Monday to Friday 09:00–12:00 and
/// 13:00–18:00, the public holidays of the State Council's 2026 notice and their make-up
/// working days.
pub fn calendar_2026() -> crm_domain::calendar::CalendarDocument {
    use crm_domain::calendar::{CalendarDay, CalendarDocument};
    let day = |date: &str, name: &str| CalendarDay {
        date: date.to_owned(),
        name: name.to_owned(),
    };
    let span = |from: u32, to: u32, month: u32, name: &str| {
        (from..=to)
            .map(|d| day(&format!("2026-{month:02}-{d:02}"), name))
            .collect::<Vec<_>>()
    };
    let mut holidays = Vec::new();
    holidays.extend(span(1, 3, 1, "元旦"));
    holidays.extend(span(15, 23, 2, "春节"));
    holidays.extend(span(4, 6, 4, "清明节"));
    holidays.extend(span(1, 5, 5, "劳动节"));
    holidays.extend(span(19, 21, 6, "端午节"));
    holidays.extend(span(25, 27, 9, "中秋节"));
    holidays.extend(span(1, 7, 10, "国庆节"));
    CalendarDocument {
        holidays,
        makeup_workdays: vec![
            day("2026-01-04", "元旦调休"),
            day("2026-02-14", "春节调休"),
            day("2026-02-28", "春节调休"),
            day("2026-05-09", "劳动节调休"),
            day("2026-09-20", "国庆节调休"),
            day("2026-10-10", "国庆节调休"),
        ],
        ..CalendarDocument::default()
    }
}

/// A year of upkeep for `count` of the customers, each written by its owner through the use
/// cases: one to four communication records over the past year, a one-year contract for
/// two in five (started up to two years ago, so some are active, some end within 90 days,
/// some expired), a survey for one in three; then the care holidays (unless kept already)
/// and the reminders all of this makes.
async fn upkeep(
    ctx: &Ctx,
    rng: &mut StdRng,
    count: usize,
    customers: &[(Uuid, Uuid, String)],
) -> anyhow::Result<()> {
    use crm_app::Input;
    use crm_app::activities::NewActivity;
    use crm_app::contracts::NewContract;
    use crm_app::retention::NewSurvey;
    const SAID: &[(&str, &str)] = &[
        ("visit", "拜访采购部，介绍新一代产品线"),
        ("call", "电话确认下季度采购计划"),
        ("meeting", "与技术团队评审改造方案"),
        ("wechat", "微信沟通交付进度"),
        ("email", "发送报价单与技术参数"),
    ];
    if count == 0 {
        return Ok(());
    }
    let to_app = |e: crm_app::AppError| anyhow::anyhow!(identity::describe(&e));
    let now = Utc::now();
    let today = now.date_naive();
    // Letters naming this run keep contract numbers unique across runs into one database.
    let run: String = (0..5)
        .map(|_| char::from(b'A' + rand::rng().random_range(0..26u8)))
        .collect();
    let picked: Vec<&(Uuid, Uuid, String)> = customers.choose_multiple(rng, count).collect();
    for (n, (customer, owner, _)) in picked.into_iter().enumerate() {
        let rep = Caller::Person {
            id: *owner,
            role: Role::Sales,
        };
        for _ in 0..rng.random_range(1..=4) {
            let (kind, summary) = *SAID.choose(rng).unwrap_or(&SAID[0]);
            let at = now - Duration::minutes(rng.random_range(60..365 * 24 * 60));
            let body = NewActivity {
                kind: kind.to_owned(),
                occurred_at: Some(at),
                summary: summary.to_owned(),
                feedback: rng
                    .random_bool(0.5)
                    .then(|| "对交付周期比较关注".to_owned()),
                needs_change: None,
                next_follow_up: None,
                contact_id: None,
                opportunity_id: None,
            };
            crm_app::activities::create(ctx, &rep, *customer, Input::ready(body))
                .await
                .map_err(to_app)?;
        }
        if rng.random_bool(0.4) {
            let starts = today - Duration::days(rng.random_range(0..730));
            let body = NewContract {
                customer_id: *customer,
                // Letters between the digit groups: a long run of digits could pass for a
                // bank card number, which the privacy guard refuses.
                number: format!("HT-{}-{}-{n:05}", starts.format("%y%m"), run),
                opportunity_id: None,
                amount: format!("{:.2}", 20_000f64 * 100f64.powf(rng.random::<f64>())),
                signed_on: None,
                starts_on: starts.to_string(),
                ends_on: (starts + Duration::days(364)).to_string(),
            };
            crm_app::contracts::create(ctx, &rep, Input::ready(body))
                .await
                .map_err(to_app)?;
        }
        if n % 3 == 0 {
            let body = NewSurvey {
                period: None,
                needs: rng.random_bool(0.3).then(|| "希望增加现场培训".to_owned()),
                product_satisfaction: *[5, 5, 4, 4, 4, 3, 2].choose(rng).unwrap_or(&4),
                service_satisfaction: *[5, 5, 5, 4, 4, 3].choose(rng).unwrap_or(&5),
                comments: None,
            };
            crm_app::retention::create_survey(ctx, &rep, *customer, Input::ready(body))
                .await
                .map_err(to_app)?;
        }
    }
    let system = Caller::System;
    let kept = crm_app::reminders::get_holidays(ctx, &system)
        .await
        .map_err(to_app)?;
    if kept.version == 0 {
        let day = |date: &str, name: &str| crm_domain::calendar::CalendarDay {
            date: date.to_owned(),
            name: name.to_owned(),
        };
        let holidays = crm_app::reminders::CareHolidays {
            holidays: vec![
                day("2026-09-25", "中秋节"),
                day("2026-10-01", "国庆节"),
                day("2027-01-01", "元旦"),
                day("2027-02-06", "春节"),
            ],
        };
        crm_app::reminders::put_holidays(
            ctx,
            &system,
            crm_app::input::IfMatch::Absent,
            Input::ready(holidays),
        )
        .await
        .map_err(to_app)?;
    }
    crm_app::reminders::generate(ctx, crm_app::reminders::GenerateSettings::default())
        .await
        .map_err(to_app)?;
    Ok(())
}
