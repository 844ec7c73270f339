//! Reference data owned by the domain: the GB/T 4754-2017 industry classification (sections
//! and divisions) and the GB/T 2260 provincial-level administrative divisions.
//!
//! The tables are static and sorted by code, so lookups are binary searches with no
//! allocation; validation of customers, leads and reports relies on them.

use serde::Serialize;

/// A section (门类) of GB/T 4754-2017, such as `C` 制造业.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IndustrySection {
    /// One upper-case letter, `A`–`T`.
    pub code: &'static str,
    /// Official Chinese name.
    pub name: &'static str,
}

/// A division (大类) of GB/T 4754-2017, such as `C35` 专用设备制造业.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Industry {
    /// Section letter followed by the two-digit division number, e.g. `C35`.
    pub code: &'static str,
    /// Official Chinese name of the division.
    pub name: &'static str,
    /// The section this division belongs to.
    pub section: &'static IndustrySection,
}

/// A provincial-level administrative division of GB/T 2260 (省级行政区).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Region {
    /// Two-digit code, e.g. `11` for 北京市.
    pub code: &'static str,
    /// Official Chinese name.
    pub name: &'static str,
}

macro_rules! sections {
    ($($ident:ident $code:literal $name:literal;)*) => {
        $(static $ident: IndustrySection = IndustrySection { code: $code, name: $name };)*
        /// All twenty sections, `A` to `T`.
        pub static INDUSTRY_SECTIONS: &[IndustrySection] = &[$(IndustrySection { code: $code, name: $name }),*];
    };
}

sections! {
    SEC_A "A" "农、林、牧、渔业";
    SEC_B "B" "采矿业";
    SEC_C "C" "制造业";
    SEC_D "D" "电力、热力、燃气及水生产和供应业";
    SEC_E "E" "建筑业";
    SEC_F "F" "批发和零售业";
    SEC_G "G" "交通运输、仓储和邮政业";
    SEC_H "H" "住宿和餐饮业";
    SEC_I "I" "信息传输、软件和信息技术服务业";
    SEC_J "J" "金融业";
    SEC_K "K" "房地产业";
    SEC_L "L" "租赁和商务服务业";
    SEC_M "M" "科学研究和技术服务业";
    SEC_N "N" "水利、环境和公共设施管理业";
    SEC_O "O" "居民服务、修理和其他服务业";
    SEC_P "P" "教育";
    SEC_Q "Q" "卫生和社会工作";
    SEC_R "R" "文化、体育和娱乐业";
    SEC_S "S" "公共管理、社会保障和社会组织";
    SEC_T "T" "国际组织";
}

macro_rules! industries {
    ($($section:ident $code:literal $name:literal;)*) => {
        /// All 97 divisions, ordered by division number (and so by code).
        pub static INDUSTRIES: &[Industry] = &[$(Industry { code: $code, name: $name, section: &$section }),*];
    };
}

industries! {
    SEC_A "A01" "农业";
    SEC_A "A02" "林业";
    SEC_A "A03" "畜牧业";
    SEC_A "A04" "渔业";
    SEC_A "A05" "农、林、牧、渔专业及辅助性活动";
    SEC_B "B06" "煤炭开采和洗选业";
    SEC_B "B07" "石油和天然气开采业";
    SEC_B "B08" "黑色金属矿采选业";
    SEC_B "B09" "有色金属矿采选业";
    SEC_B "B10" "非金属矿采选业";
    SEC_B "B11" "开采专业及辅助性活动";
    SEC_B "B12" "其他采矿业";
    SEC_C "C13" "农副食品加工业";
    SEC_C "C14" "食品制造业";
    SEC_C "C15" "酒、饮料和精制茶制造业";
    SEC_C "C16" "烟草制品业";
    SEC_C "C17" "纺织业";
    SEC_C "C18" "纺织服装、服饰业";
    SEC_C "C19" "皮革、毛皮、羽毛及其制品和制鞋业";
    SEC_C "C20" "木材加工和木、竹、藤、棕、草制品业";
    SEC_C "C21" "家具制造业";
    SEC_C "C22" "造纸和纸制品业";
    SEC_C "C23" "印刷和记录媒介复制业";
    SEC_C "C24" "文教、工美、体育和娱乐用品制造业";
    SEC_C "C25" "石油、煤炭及其他燃料加工业";
    SEC_C "C26" "化学原料和化学制品制造业";
    SEC_C "C27" "医药制造业";
    SEC_C "C28" "化学纤维制造业";
    SEC_C "C29" "橡胶和塑料制品业";
    SEC_C "C30" "非金属矿物制品业";
    SEC_C "C31" "黑色金属冶炼和压延加工业";
    SEC_C "C32" "有色金属冶炼和压延加工业";
    SEC_C "C33" "金属制品业";
    SEC_C "C34" "通用设备制造业";
    SEC_C "C35" "专用设备制造业";
    SEC_C "C36" "汽车制造业";
    SEC_C "C37" "铁路、船舶、航空航天和其他运输设备制造业";
    SEC_C "C38" "电气机械和器材制造业";
    SEC_C "C39" "计算机、通信和其他电子设备制造业";
    SEC_C "C40" "仪器仪表制造业";
    SEC_C "C41" "其他制造业";
    SEC_C "C42" "废弃资源综合利用业";
    SEC_C "C43" "金属制品、机械和设备修理业";
    SEC_D "D44" "电力、热力生产和供应业";
    SEC_D "D45" "燃气生产和供应业";
    SEC_D "D46" "水的生产和供应业";
    SEC_E "E47" "房屋建筑业";
    SEC_E "E48" "土木工程建筑业";
    SEC_E "E49" "建筑安装业";
    SEC_E "E50" "建筑装饰、装修和其他建筑业";
    SEC_F "F51" "批发业";
    SEC_F "F52" "零售业";
    SEC_G "G53" "铁路运输业";
    SEC_G "G54" "道路运输业";
    SEC_G "G55" "水上运输业";
    SEC_G "G56" "航空运输业";
    SEC_G "G57" "管道运输业";
    SEC_G "G58" "多式联运和运输代理业";
    SEC_G "G59" "装卸搬运和仓储业";
    SEC_G "G60" "邮政业";
    SEC_H "H61" "住宿业";
    SEC_H "H62" "餐饮业";
    SEC_I "I63" "电信、广播电视和卫星传输服务";
    SEC_I "I64" "互联网和相关服务";
    SEC_I "I65" "软件和信息技术服务业";
    SEC_J "J66" "货币金融服务";
    SEC_J "J67" "资本市场服务";
    SEC_J "J68" "保险业";
    SEC_J "J69" "其他金融业";
    SEC_K "K70" "房地产业";
    SEC_L "L71" "租赁业";
    SEC_L "L72" "商务服务业";
    SEC_M "M73" "研究和试验发展";
    SEC_M "M74" "专业技术服务业";
    SEC_M "M75" "科技推广和应用服务业";
    SEC_N "N76" "水利管理业";
    SEC_N "N77" "生态保护和环境治理业";
    SEC_N "N78" "公共设施管理业";
    SEC_N "N79" "土地管理业";
    SEC_O "O80" "居民服务业";
    SEC_O "O81" "机动车、电子产品和日用产品修理业";
    SEC_O "O82" "其他服务业";
    SEC_P "P83" "教育";
    SEC_Q "Q84" "卫生";
    SEC_Q "Q85" "社会工作";
    SEC_R "R86" "新闻和出版业";
    SEC_R "R87" "广播、电视、电影和录音制作业";
    SEC_R "R88" "文化艺术业";
    SEC_R "R89" "体育";
    SEC_R "R90" "娱乐业";
    SEC_S "S91" "中国共产党机关";
    SEC_S "S92" "国家机构";
    SEC_S "S93" "人民政协、民主党派";
    SEC_S "S94" "社会保障";
    SEC_S "S95" "群众团体、社会团体和其他成员组织";
    SEC_S "S96" "基层群众自治组织及其他组织";
    SEC_T "T97" "国际组织";
}

/// The 34 provincial-level divisions of GB/T 2260, ordered by code.
pub static REGIONS: &[Region] = &[
    Region {
        code: "11",
        name: "北京市",
    },
    Region {
        code: "12",
        name: "天津市",
    },
    Region {
        code: "13",
        name: "河北省",
    },
    Region {
        code: "14",
        name: "山西省",
    },
    Region {
        code: "15",
        name: "内蒙古自治区",
    },
    Region {
        code: "21",
        name: "辽宁省",
    },
    Region {
        code: "22",
        name: "吉林省",
    },
    Region {
        code: "23",
        name: "黑龙江省",
    },
    Region {
        code: "31",
        name: "上海市",
    },
    Region {
        code: "32",
        name: "江苏省",
    },
    Region {
        code: "33",
        name: "浙江省",
    },
    Region {
        code: "34",
        name: "安徽省",
    },
    Region {
        code: "35",
        name: "福建省",
    },
    Region {
        code: "36",
        name: "江西省",
    },
    Region {
        code: "37",
        name: "山东省",
    },
    Region {
        code: "41",
        name: "河南省",
    },
    Region {
        code: "42",
        name: "湖北省",
    },
    Region {
        code: "43",
        name: "湖南省",
    },
    Region {
        code: "44",
        name: "广东省",
    },
    Region {
        code: "45",
        name: "广西壮族自治区",
    },
    Region {
        code: "46",
        name: "海南省",
    },
    Region {
        code: "50",
        name: "重庆市",
    },
    Region {
        code: "51",
        name: "四川省",
    },
    Region {
        code: "52",
        name: "贵州省",
    },
    Region {
        code: "53",
        name: "云南省",
    },
    Region {
        code: "54",
        name: "西藏自治区",
    },
    Region {
        code: "61",
        name: "陕西省",
    },
    Region {
        code: "62",
        name: "甘肃省",
    },
    Region {
        code: "63",
        name: "青海省",
    },
    Region {
        code: "64",
        name: "宁夏回族自治区",
    },
    Region {
        code: "65",
        name: "新疆维吾尔自治区",
    },
    Region {
        code: "71",
        name: "台湾省",
    },
    Region {
        code: "81",
        name: "香港特别行政区",
    },
    Region {
        code: "82",
        name: "澳门特别行政区",
    },
];

/// Looks up a division by its code (`C35`). The code must be exact: upper-case letter and
/// two digits; callers normalise user input first.
pub fn industry(code: &str) -> Option<&'static Industry> {
    // Codes sort by their division number, which is the last two characters.
    let number = code.get(1..)?;
    INDUSTRIES
        .binary_search_by(|i| i.code[1..].cmp(number))
        .ok()
        .map(|idx| &INDUSTRIES[idx])
        .filter(|i| i.code == code)
}

/// Looks up a provincial-level division by its two-digit code.
pub fn region(code: &str) -> Option<&'static Region> {
    REGIONS
        .binary_search_by(|r| r.code.cmp(code))
        .ok()
        .map(|idx| &REGIONS[idx])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_all_sections_and_divisions() {
        assert_eq!(INDUSTRY_SECTIONS.len(), 20);
        assert_eq!(INDUSTRIES.len(), 97);
        assert_eq!(REGIONS.len(), 34);
    }

    #[test]
    fn divisions_are_numbered_one_to_ninety_seven_in_order() {
        for (idx, industry) in INDUSTRIES.iter().enumerate() {
            let number: usize = industry.code[1..].parse().unwrap_or_default();
            assert_eq!(number, idx + 1, "{}", industry.code);
            assert_eq!(&industry.code[..1], industry.section.code);
        }
    }

    #[test]
    fn every_section_has_divisions() {
        for section in INDUSTRY_SECTIONS {
            assert!(
                INDUSTRIES.iter().any(|i| i.section == section),
                "{}",
                section.code
            );
        }
    }

    #[test]
    fn regions_are_sorted_and_unique() {
        assert!(REGIONS.windows(2).all(|w| w[0].code < w[1].code));
    }

    #[test]
    fn looks_up_industries() {
        let c35 = industry("C35").map(|i| (i.name, i.section.name));
        assert_eq!(c35, Some(("专用设备制造业", "制造业")));
        assert_eq!(industry("T97").map(|i| i.name), Some("国际组织"));
        assert!(industry("D35").is_none(), "right number, wrong section");
        assert!(industry("C98").is_none());
        assert!(industry("").is_none());
        assert!(industry("C").is_none());
        assert!(industry("c35").is_none());
    }

    #[test]
    fn looks_up_regions() {
        assert_eq!(region("11").map(|r| r.name), Some("北京市"));
        assert_eq!(region("82").map(|r| r.name), Some("澳门特别行政区"));
        assert!(region("10").is_none());
        assert!(region("1").is_none());
    }
}
