//! Customer value types and checks: the unified social credit code (GB 32100-2015), PRC
//! mobile numbers, industry and region codes, the annual budget in 万元, and the normalised
//! name used to find likely duplicates.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The 31 symbols of the USCC alphabet (no I, O, S, V, Z), in value order.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1–17.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A unified social credit code (统一社会信用代码) whose check symbol is right.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uscc(String);

impl Uscc {
    /// Parses a code: trimmed, upper-cased, 18 symbols of the alphabet, check symbol verified.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let code = raw.trim().to_ascii_uppercase();
        if code.chars().count() != 18 {
            return Err("must be 18 characters long");
        }
        let values: Option<Vec<u32>> = code
            .bytes()
            .map(|b| {
                USCC_ALPHABET
                    .iter()
                    .position(|&a| a == b)
                    .and_then(|p| u32::try_from(p).ok())
            })
            .collect();
        let values =
            values.ok_or("may contain only digits and the letters A–Y except I, O, S, V and Z")?;
        let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
        let check = (31 - sum % 31) % 31;
        if values.get(17) != Some(&check) {
            return Err("has a wrong check character");
        }
        Ok(Self(code))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The province code in digits 3–4 (the registering authority's division code), when it
    /// names a known province.
    pub fn region(&self) -> Option<&'static str> {
        let code = self.0.get(2..4)?;
        crate::reference::region(code).map(|r| r.code)
    }

    /// Completes 17 symbols with their check symbol (for generating demo data and tests).
    pub fn with_check(first17: &str) -> Option<Self> {
        let values: Option<Vec<u32>> = first17
            .bytes()
            .map(|b| {
                USCC_ALPHABET
                    .iter()
                    .position(|&a| a == b)
                    .and_then(|p| u32::try_from(p).ok())
            })
            .collect();
        let values = values.filter(|v| v.len() == 17)?;
        let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
        let check = usize::try_from((31 - sum % 31) % 31).ok()?;
        let symbol = char::from(*USCC_ALPHABET.get(check)?);
        Some(Self(format!("{first17}{symbol}")))
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mainland China mobile number: 11 digits, `1[3-9]` first.
pub fn check_mobile(raw: &str) -> Result<String, &'static str> {
    let s = raw.trim();
    let b = s.as_bytes();
    let ok = b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit);
    if ok {
        Ok(s.to_owned())
    } else {
        Err("must be a mainland China mobile number: 11 digits starting 13–19")
    }
}

/// An industry division code of GB/T 4754-2017, upper-cased on input.
pub fn check_industry(raw: &str) -> Result<&'static str, &'static str> {
    crate::reference::industry(&raw.trim().to_ascii_uppercase())
        .map(|i| i.code)
        .ok_or("must be a GB/T 4754-2017 division code such as C35")
}

/// A province code of GB/T 2260.
pub fn check_region(raw: &str) -> Result<&'static str, &'static str> {
    crate::reference::region(raw.trim())
        .map(|r| r.code)
        .ok_or("must be a GB/T 2260 province code such as 11")
}

/// An amount in 万元 with at most two decimal places, kept as hundredths so it is exact on
/// every database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Wan(i64);

/// The largest amount accepted: 10^12 万元.
const MAX_WAN_HUNDREDTHS: i64 = 100_000_000_000_000;

impl Wan {
    /// Parses a non-negative decimal string such as `"1250.5"`.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        crate::money::hundredths(raw, MAX_WAN_HUNDREDTHS)
            .map(Self)
            .map_err(|e| {
                e.message(
                    "must be a decimal number such as \"1250.50\"",
                    "is too large",
                )
            })
    }

    /// From hundredths of 万元, as stored.
    pub fn from_hundredths(value: i64) -> Self {
        Self(value)
    }

    /// Hundredths of 万元, as stored.
    pub fn hundredths(self) -> i64 {
        self.0
    }

    /// As a decimal.
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }
}

impl fmt::Display for Wan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

/// Customer type (客户类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerType {
    /// 潜在客户
    Potential,
    /// 成交客户
    Customer,
    /// 流失客户
    Lost,
}

/// Company size (客户规模).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// 微型
    Micro,
    /// 小型
    Small,
    /// 中型
    Medium,
    /// 大型
    Large,
}

/// Where a customer came from (来源渠道).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// 官网
    Website,
    /// 展会
    Fair,
    /// 客户转介绍
    Referral,
    /// 电话
    Phone,
    /// 社交媒体
    Social,
    /// 合作伙伴
    Partner,
    /// 其他
    Other,
}

macro_rules! names {
    ($ty:ty { $($variant:ident = $name:literal),* }) => {
        impl $ty {
            /// The value's name as stored and sent.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }
            /// Parses a stored name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

names!(CustomerType { Potential = "potential", Customer = "customer", Lost = "lost" });
names!(Scale { Micro = "micro", Small = "small", Medium = "medium", Large = "large" });
names!(Source {
    Website = "website",
    Fair = "fair",
    Referral = "referral",
    Phone = "phone",
    Social = "social",
    Partner = "partner",
    Other = "other"
});

/// Legal-form words and markers that do not tell two companies apart, longest first.
const LEGAL_FORMS: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团公司",
    "(中国)",
    "(china)",
    "集团",
    "公司",
    "co.,ltd.",
    "co.,ltd",
    "co.ltd",
    "limited",
    "ltd.",
    "ltd",
    "inc.",
    "inc",
];

/// The key two names must share to be likely the same company: full-width forms folded,
/// lower-cased, legal-form words and punctuation and spaces removed.
/// `深圳市腾达科技有限公司` and `深圳市腾达科技（中国）有限责任公司` share `深圳市腾达科技`.
pub fn name_key(name: &str) -> String {
    let folded: String = name
        .chars()
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '\u{3000}' => ' ',
            c if ('\u{FF01}'..='\u{FF5E}').contains(&c) => {
                char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c)
            }
            c => c,
        })
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut key = folded;
    for form in LEGAL_FORMS {
        key = key.replace(form, "");
    }
    key.chars().filter(|c| c.is_alphanumeric()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_usccs_in_any_case() {
        for code in [
            "91110000600037341L",
            "91350100M000100Y43",
            " 91350100m000100y43 ",
        ] {
            assert!(Uscc::parse(code).is_ok(), "{code}");
        }
        assert_eq!(
            Uscc::parse("91350100m000100y43").map(|u| u.0),
            Ok("91350100M000100Y43".to_owned())
        );
    }

    #[test]
    fn rejects_invalid_usccs() {
        assert_eq!(
            Uscc::parse("91110000600037341M"),
            Err("has a wrong check character")
        );
        assert!(Uscc::parse("91110000600037341").is_err(), "17 characters");
        assert!(
            Uscc::parse("9111000060003734IL").is_err(),
            "I is not in the alphabet"
        );
        assert!(Uscc::parse("91110000600037341LL").is_err());
        assert!(Uscc::parse("").is_err());
        assert!(
            Uscc::parse("９１１１００００６０００３７３４１Ｌ").is_err(),
            "full-width digits"
        );
    }

    #[test]
    fn derives_region_and_completes_check() {
        assert_eq!(
            Uscc::parse("91110000600037341L")
                .ok()
                .and_then(|u| u.region()),
            Some("11")
        );
        assert_eq!(
            Uscc::parse("91350100M000100Y43")
                .ok()
                .and_then(|u| u.region()),
            Some("35")
        );
        assert_eq!(
            Uscc::with_check("91110000600037341").map(|u| u.0),
            Some("91110000600037341L".to_owned())
        );
    }

    #[test]
    fn checks_mobiles() {
        assert!(check_mobile("13800138000").is_ok());
        assert!(check_mobile("19912345678").is_ok());
        for bad in [
            "12800138000",
            "1380013800",
            "138001380000",
            "+8613800138000",
            "1380013800a",
        ] {
            assert!(check_mobile(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_codes() {
        assert_eq!(check_industry("c35"), Ok("C35"));
        assert!(check_industry("C99").is_err());
        assert_eq!(check_region("44"), Ok("44"));
        assert!(check_region("99").is_err());
    }

    #[test]
    fn budgets_are_exact() {
        assert_eq!(Wan::parse("1250.5").map(|w| w.hundredths()), Ok(125_050));
        assert_eq!(
            Wan::parse("0").map(|w| w.to_string()),
            Ok("0.00".to_owned())
        );
        assert_eq!(
            Wan::parse("1250.50").map(|w| w.to_string()),
            Ok("1250.50".to_owned())
        );
        assert_eq!(Wan::parse("0.10").map(|w| w.hundredths()), Ok(10));
        assert!(Wan::parse("-1").is_err());
        assert!(Wan::parse("1.005").is_err());
        assert!(Wan::parse("abc").is_err());
        assert!(Wan::parse("1e5").is_err());
        assert!(Wan::parse("99999999999999999999").is_err());
    }

    #[test]
    fn name_keys_ignore_legal_forms_and_punctuation() {
        let a = name_key("深圳市腾达科技有限公司");
        assert_eq!(a, "深圳市腾达科技");
        assert_eq!(name_key("深圳市腾达科技（中国）有限责任公司"), a);
        assert_eq!(name_key(" 深圳市 腾达科技股份有限公司 "), a);
        assert_eq!(name_key("Acme Co., Ltd."), name_key("ACME Limited"));
        assert_ne!(name_key("深圳市腾飞科技有限公司"), a);
    }
}
