//! `crm demo-data`: fills a database with realistic, valid customers (valid USCCs with
//! their check character, real industry and province codes, Chinese company and person
//! names, contacts with valid mobiles, tags), assignment rules, leads from fairs and the
//! website (some of them duplicates of customers), and deals in every stage — open at 30, 60
//! and 90 percent, won and lost over the past year — so that a new user sees a pipeline.
//! Everything goes through the use cases (`customers::create_batch`, `assignment_rules::create`,
//! `leads::import`, `opportunities::create_batch`): every check applies, each record gets its
//! audit entry and event, one transaction per batch.

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
}

impl Size {
    /// `customers` customers with a lead for every ten and a deal for each.
    pub fn for_customers(customers: usize) -> Self {
        Self {
            customers,
            leads: customers / 10,
            deals: customers,
        }
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
    let mut done = 0;
    while done < count {
        let size = BATCH.min(count - done);
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
                    birthday: None,
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
                referred_by: None,
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
    }
    rules(ctx, &owners).await?;
    leads(ctx, &mut rng, size.leads, &loaded).await?;
    deals(ctx, &mut rng, size.deals, &loaded).await?;
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
    use crm_app::assignment_rules::{self, RuleInput};
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
        let input = RuleInput {
            name: Some(name.to_owned()),
            regions: Some(regions.into_iter().map(str::to_owned).collect()),
            industries: Some(industries.into_iter().map(str::to_owned).collect()),
            sources: Some(
                sources
                    .into_iter()
                    .filter_map(crm_domain::lead::LeadSource::parse)
                    .collect(),
            ),
            assignees: Some(assignees),
            ..RuleInput::default()
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
    }
    Ok(())
}
