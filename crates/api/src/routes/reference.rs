//! Reference data: the GB/T 4754-2017 industry divisions and GB/T 2260 provinces that
//! customers and leads are classified by. Static, so responses are cacheable.

use actix_web::{HttpResponse, get};
use crm_domain::reference::{INDUSTRIES, REGIONS};
use serde::Serialize;
use utoipa::ToSchema;

/// A division of the national industry classification GB/T 4754-2017.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "C35", "name": "专用设备制造业", "section": "C", "section_name": "制造业"}))]
pub struct Industry {
    /// Section letter and two-digit division number; the value customers' `industry_code` takes.
    pub code: &'static str,
    /// Official Chinese name of the division.
    pub name: &'static str,
    /// Section letter (`A`–`T`).
    pub section: &'static str,
    /// Official Chinese name of the section.
    pub section_name: &'static str,
}

/// A provincial-level administrative division of GB/T 2260.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "11", "name": "北京市"}))]
pub struct Region {
    /// Two-digit code; the value customers' `region` takes.
    pub code: &'static str,
    /// Official Chinese name.
    pub name: &'static str,
}

const CACHE_DAY: (&str, &str) = ("Cache-Control", "public, max-age=86400");

/// Lists all 97 industry divisions of GB/T 4754-2017 with their sections, ordered by code.
#[utoipa::path(
    operation_id = "list_industries",
    tag = "reference",
    responses((status = 200, description = "All divisions, ordered by division number.", body = [Industry])),
)]
#[get("/reference/industries")]
pub async fn list_industries() -> HttpResponse {
    let items: Vec<Industry> = INDUSTRIES
        .iter()
        .map(|i| Industry {
            code: i.code,
            name: i.name,
            section: i.section.code,
            section_name: i.section.name,
        })
        .collect();
    HttpResponse::Ok().insert_header(CACHE_DAY).json(items)
}

/// Lists the 34 provincial-level divisions of GB/T 2260, ordered by code.
#[utoipa::path(
    operation_id = "list_regions",
    tag = "reference",
    responses((status = 200, description = "All provinces, ordered by code.", body = [Region])),
)]
#[get("/reference/regions")]
pub async fn list_regions() -> HttpResponse {
    let items: Vec<Region> = REGIONS
        .iter()
        .map(|r| Region {
            code: r.code,
            name: r.name,
        })
        .collect();
    HttpResponse::Ok().insert_header(CACHE_DAY).json(items)
}
