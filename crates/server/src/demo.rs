//! `crm demo-data`: fills a database with realistic, valid customers (valid USCCs with
//! their check character, real industry and province codes, Chinese company and person
//! names, contacts with valid mobiles, tags). They go through the same use case as an API
//! client's bulk load (`crm_app::customers::create_batch`): every check applies, each
//! customer gets its audit entry and event, one transaction per batch.

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

/// Loads `count` demo customers; returns how long it took.
pub async fn load(ctx: &Ctx, count: usize, seed: u64) -> anyhow::Result<std::time::Duration> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let owners = owners(ctx).await?;
    // A salt per run keeps codes unique across runs into the same database.
    let salt: String = (0..4)
        .map(|_| char::from(*USCC_ALPHABET.choose(&mut rand::rng()).unwrap_or(&b'0')))
        .collect();
    let today = Utc::now().date_naive();

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
        crm_app::customers::create_batch(ctx, &Caller::System, bodies)
            .await
            .map_err(|e| anyhow::anyhow!(identity::describe(&e)))?;
        done += size;
    }
    // Fresh statistics for the query planner after a bulk load.
    let analyze = match ctx.db.get_database_backend() {
        crm_store::DbBackend::Sqlite => "PRAGMA optimize",
        _ => "ANALYZE",
    };
    ctx.db
        .execute_unprepared(analyze)
        .await
        .map_err(crm_store::StoreError::from)?;
    Ok(started.elapsed())
}
