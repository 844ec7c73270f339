//! Lead imports from spreadsheets: CSV as Excel and WPS save it — UTF-8, UTF-8 with a
//! byte-order mark, or GB18030 (Excel on Chinese Windows) — with the header in English or in
//! the Chinese of the template. Problems with the file itself (encoding, syntax, columns,
//! size) are answered for the whole file; problems with a row are answered for that row.

use crm_domain::lead::LeadSource;
use uuid::Uuid;

use super::dto::{NewLead, check_lead};
use super::{MAX_ROWS, Row};
use crate::check::Checker;
use crate::error::{AppError, ErrorCode, FieldError};

/// The columns: (field, Chinese header of the template, other accepted Chinese names).
const COLUMNS: [(&str, &str, &[&str]); 12] = [
    ("source", "来源", &["来源渠道", "线索来源"]),
    ("source_detail", "来源说明", &["来源详情", "展会名称"]),
    (
        "company_name",
        "公司名称",
        &["客户名称", "企业名称", "单位名称"],
    ),
    ("uscc", "统一社会信用代码", &["信用代码"]),
    ("contact_name", "联系人", &["联系人姓名", "姓名"]),
    ("mobile", "手机", &["手机号", "手机号码"]),
    ("email", "邮箱", &["电子邮箱", "邮件"]),
    ("region", "省份代码", &["省份", "地区"]),
    ("industry_code", "行业代码", &["行业"]),
    ("needs", "需求描述", &["需求"]),
    ("external_id", "外部编号", &["编号"]),
    ("referred_by", "推荐客户", &["推荐人"]),
];

/// Columns a file must have.
const REQUIRED: [&str; 3] = ["source", "company_name", "contact_name"];

fn malformed(detail: String) -> AppError {
    AppError::BadRequest {
        code: ErrorCode::MalformedCsv,
        detail,
        errors: Vec::new(),
    }
}

/// The text of a CSV file: UTF-8 (with or without a byte-order mark) or GB18030.
pub fn decode(bytes: &[u8]) -> Result<String, AppError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8(rest.to_vec()).map_err(|_| {
            malformed("The file starts as UTF-8 but is not valid UTF-8 text.".to_owned())
        });
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(malformed(
            "The file is UTF-16 (\"Unicode text\"); save it as CSV in UTF-8 or GB18030.".to_owned(),
        ));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
    if had_errors {
        return Err(malformed(
            "The file is neither UTF-8 nor GB18030 text; save it as CSV in one of them.".to_owned(),
        ));
    }
    Ok(text.into_owned())
}

fn field_of(header: &str) -> Option<&'static str> {
    let h = header.trim().trim_start_matches('\u{feff}');
    let lower = h.to_ascii_lowercase();
    COLUMNS.iter().find_map(|(field, zh, others)| {
        (lower == *field || h == *zh || others.contains(&h)).then_some(*field)
    })
}

/// Reads a CSV file into import rows, each checked; row numbers are the file's line numbers.
pub fn read(bytes: &[u8]) -> Result<Vec<Row>, AppError> {
    let text = decode(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| malformed(format!("The header line cannot be read: {}.", describe(&e))))?
        .clone();
    let mut fields: Vec<&'static str> = Vec::with_capacity(headers.len());
    let mut errors = Vec::new();
    for (i, header) in headers.iter().enumerate() {
        match field_of(header) {
            Some(f) if fields.contains(&f) => errors.push(FieldError::new(
                format!("columns[{i}]"),
                "duplicate_column",
                format!("names a column that appears earlier ({f})"),
            )),
            Some(f) => fields.push(f),
            None => {
                errors.push(FieldError::new(
                    format!("columns[{i}]"),
                    "unknown_column",
                    "is not a column of the template (GET /api/v1/leads/import/template)",
                ));
                fields.push("");
            }
        }
    }
    for required in REQUIRED {
        if !fields.contains(&required) {
            errors.push(FieldError::new(
                "columns",
                "missing_column",
                format!("must include the column {required}"),
            ));
        }
    }
    if !fields.contains(&"mobile") && !fields.contains(&"email") {
        errors.push(FieldError::new(
            "columns",
            "missing_column",
            "must include a mobile or an email column",
        ));
    }
    AppError::unless_invalid(errors)?;

    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            malformed(format!(
                "The file is not well-formed CSV: {}.",
                describe(&e)
            ))
        })?;
        let line = record.position().map_or(rows.len() + 2, |p| {
            usize::try_from(p.line()).unwrap_or(usize::MAX)
        });
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(AppError::invalid_field(
                format!("rows[{line}]"),
                "too_many",
                "a file may hold at most 1000 leads; split it",
            ));
        }
        let mut lead = NewLead::default();
        let mut c = Checker::default();
        for (field, value) in fields.iter().zip(record.iter()) {
            let value = (!value.is_empty()).then(|| value.to_owned());
            match *field {
                "source" => lead.source = value.unwrap_or_default(),
                "source_detail" => lead.source_detail = value,
                "company_name" => lead.company_name = value.unwrap_or_default(),
                "uscc" => lead.uscc = value,
                "contact_name" => lead.contact_name = value.unwrap_or_default(),
                "mobile" => lead.mobile = value,
                "email" => lead.email = value,
                "region" => lead.region = value,
                "industry_code" => lead.industry_code = value,
                "needs" => lead.needs = value,
                "external_id" => lead.external_id = value,
                "referred_by" => match value.map(|v| v.parse::<Uuid>()) {
                    None => {}
                    Some(Ok(id)) => lead.referred_by = Some(id),
                    Some(Err(_)) => {
                        c.fail("referred_by", "invalid_format", "must be a customer id")
                    }
                },
                _ => {}
            }
        }
        let checked = check_lead(&mut c, "", lead);
        rows.push(Row {
            number: line,
            lead: if c.ok() {
                Ok(checked)
            } else {
                Err(super::dto::row_errors(c))
            },
        });
    }
    if rows.is_empty() {
        return Err(AppError::invalid_field(
            "rows",
            "required",
            "the file holds no leads",
        ));
    }
    Ok(rows)
}

/// A CSV error without the data that caused it.
fn describe(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "line {} has {len} fields where the header has {expected_len}",
            pos.as_ref().map_or(0, csv::Position::line)
        ),
        csv::ErrorKind::Utf8 { pos, .. } => format!(
            "line {} is not valid text",
            pos.as_ref().map_or(0, csv::Position::line)
        ),
        _ => "it cannot be parsed".to_owned(),
    }
}

/// The import template: the header (Chinese, or English with `english`), one example row,
/// UTF-8 with a byte-order mark so that Excel opens it correctly.
pub fn template(english: bool) -> Vec<u8> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    let header: Vec<&str> = COLUMNS
        .iter()
        .map(|(field, zh, _)| if english { *field } else { *zh })
        .collect();
    let example = [
        LeadSource::Fair.as_str(),
        "2026 广交会 B 馆",
        "佛山顺德家电配件有限公司",
        "91440606MA4UJ8XY25",
        "陈静",
        "13800138000",
        "chen.jing@example.com",
        "44",
        "C38",
        "需要智能温控模块的报价",
        "fair-2026-0001",
        "",
    ];
    let mut writer = csv::Writer::from_writer(Vec::new());
    let ok = writer.write_record(&header).is_ok() && writer.write_record(example).is_ok();
    if ok && let Ok(bytes) = writer.into_inner() {
        out.extend_from_slice(&bytes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utf8_with_bom_and_gb18030() {
        let utf8 = "来源,公司名称,联系人,手机\n展会,广州白云电器有限公司,李雷,13800138000\n";
        let mut with_bom = vec![0xEF, 0xBB, 0xBF];
        with_bom.extend_from_slice(utf8.as_bytes());
        let (gbk, _, _) = encoding_rs::GB18030.encode(utf8);
        for bytes in [utf8.as_bytes().to_vec(), with_bom, gbk.into_owned()] {
            let rows = read(&bytes).unwrap_or_default();
            assert_eq!(rows.len(), 1);
            let lead = rows[0].lead.as_ref().ok();
            assert_eq!(
                lead.map(|l| l.company_name.as_str()),
                Some("广州白云电器有限公司")
            );
            assert_eq!(rows[0].number, 2);
        }
    }

    #[test]
    fn refuses_bad_files_whole() {
        let unknown = "source,company_name,contact_name,mobile,fax\nfair,x,y,13800138000,1\n";
        assert!(matches!(
            read(unknown.as_bytes()),
            Err(AppError::Validation(_))
        ));
        let ragged = "source,company_name,contact_name,mobile\nfair,x\n";
        assert!(matches!(
            read(ragged.as_bytes()),
            Err(AppError::BadRequest { .. })
        ));
        assert!(read(&[0xFF, 0xFE, 0x41, 0x00]).is_err());
        let mut many = String::from("source,company_name,contact_name,mobile\n");
        for _ in 0..1001 {
            many.push_str("fair,广州白云电器有限公司,李雷,13800138000\n");
        }
        match read(many.as_bytes()) {
            Err(AppError::Validation(e)) => assert_eq!(e[0].field, "rows[1002]"),
            _ => panic!("1001 rows accepted"),
        }
    }

    #[test]
    fn the_template_reads_back() {
        let rows = read(&template(false)).unwrap_or_default();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].lead.is_ok(), "{:?}", rows[0].lead.as_ref().err());
        assert_eq!(read(&template(true)).map(|r| r.len()).ok(), Some(1));
    }
}
