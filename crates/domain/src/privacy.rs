//! The privacy guard (隐私保护): resident ID numbers (GB 11643) and bank card numbers must never
//! enter the system. Free text is scanned for digit sequences, with spaces and dashes inside a
//! number ignored, and any that check out as either is refused.

/// What a scan found (never the number itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// A resident identity card number (居民身份证号码).
    ResidentId,
    /// A bank card number (银行卡号).
    BankCard,
}

impl Finding {
    /// A message naming what was found, for the field error.
    pub fn message(self) -> &'static str {
        match self {
            Finding::ResidentId => "must not contain a resident ID number",
            Finding::BankCard => "must not contain a bank card number",
        }
    }
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// Whether 18 symbols are a resident ID: a known province, a real birth date, and the
/// GB 11643 check character.
pub fn is_resident_id(symbols: &[u8]) -> bool {
    if symbols.len() != 18 || !symbols[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let digit = |i: usize| u32::from(symbols[i] - b'0');
    let sum: u32 = (0..17).map(|i| digit(i) * ID_WEIGHTS[i]).sum();
    let expected = ID_CHECK[(sum % 11) as usize];
    if symbols[17].to_ascii_uppercase() != expected {
        return false;
    }
    let province = std::str::from_utf8(&symbols[..2])
        .ok()
        .and_then(crate::reference::region);
    let number = |from: usize, to: usize| (from..to).fold(0u32, |acc, i| acc * 10 + digit(i));
    let (year, month, day) = (number(6, 10), number(10, 12), number(12, 14));
    let valid_date = (1900..=2100).contains(&year)
        && chrono::NaiveDate::from_ymd_opt(i32::try_from(year).unwrap_or(0), month, day).is_some();
    province.is_some() && valid_date
}

/// Whether 16–19 digits pass the Luhn check.
pub fn is_bank_card(digits: &[u8]) -> bool {
    if !(16..=19).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Splits text into runs of digit groups: digits (and a trailing `X`) separated by at most
/// one space, dash or full-width space form one run of groups.
fn runs(text: &str) -> Vec<Vec<Vec<u8>>> {
    let mut runs = Vec::new();
    let mut groups: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut pending_separator = false;
    // A run glued to a Latin letter is part of a code (a USCC, an order number), not a number.
    let mut tainted = false;
    let finish_run = |groups: &mut Vec<Vec<u8>>,
                      current: &mut Vec<u8>,
                      runs: &mut Vec<Vec<Vec<u8>>>,
                      keep: bool| {
        if !current.is_empty() {
            groups.push(std::mem::take(current));
        }
        if !groups.is_empty() && keep {
            runs.push(std::mem::take(groups));
        }
        groups.clear();
    };
    let mut previous_was_letter = false;
    for c in text.chars() {
        let c = match c {
            '０'..='９' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            'ｘ' | 'Ｘ' => 'X',
            c => c,
        };
        let is_letter = c.is_ascii_alphabetic();
        if c.is_ascii_digit() || ((c == 'X' || c == 'x') && !current.is_empty()) {
            if current.is_empty() && groups.is_empty() {
                tainted = previous_was_letter;
            }
            if pending_separator && !current.is_empty() {
                groups.push(std::mem::take(&mut current));
            }
            pending_separator = false;
            current.push(c as u8);
        } else if matches!(c, ' ' | '-' | '\u{3000}' | '－' | '—')
            && !current.is_empty()
            && !pending_separator
        {
            pending_separator = true;
        } else {
            let glued = is_letter && !pending_separator && !current.is_empty();
            pending_separator = false;
            finish_run(&mut groups, &mut current, &mut runs, !tainted && !glued);
            tainted = false;
        }
        previous_was_letter = is_letter;
    }
    finish_run(&mut groups, &mut current, &mut runs, !tainted);
    runs
}

/// Scans free text; returns what it found, if anything.
pub fn scan(text: &str) -> Option<Finding> {
    for groups in runs(text) {
        // Every contiguous sequence of groups, so that a number written in groups is found
        // whether or not other numbers stand next to it.
        for start in 0..groups.len() {
            let mut joined: Vec<u8> = Vec::new();
            for group in &groups[start..] {
                joined.extend_from_slice(group);
                if joined.len() > 19 {
                    break;
                }
                if is_resident_id(&joined) {
                    return Some(Finding::ResidentId);
                }
                if is_bank_card(&joined) {
                    return Some(Finding::BankCard);
                }
            }
            // A single long group: look inside it too (an ID or card glued to other digits).
        }
        for group in &groups {
            if group.len() > 19 {
                for window in group.windows(18) {
                    if is_resident_id(window) {
                        return Some(Finding::ResidentId);
                    }
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_resident_ids() {
        assert!(is_resident_id(b"11010519491231002X"));
        assert_eq!(
            scan("身份证 11010519491231002X 请核对"),
            Some(Finding::ResidentId)
        );
        assert_eq!(scan("身份证11010519491231002x"), Some(Finding::ResidentId));
        assert_eq!(scan("ID: 110105 19491231 002X"), Some(Finding::ResidentId));
        assert_eq!(scan("ID: 110105-1949-1231-002X"), Some(Finding::ResidentId));
        assert_eq!(
            scan("ID: １１０１０５１９４９１２３１００２Ｘ"),
            Some(Finding::ResidentId)
        );
        assert_eq!(
            scan("订单号 9911010519491231002X77"),
            Some(Finding::ResidentId)
        );
    }

    #[test]
    fn finds_bank_cards() {
        assert!(is_bank_card(b"6222021234567890128"));
        assert!(is_bank_card(b"4111111111111111"));
        assert_eq!(
            scan("卡号 6222 0212 3456 7890 128"),
            Some(Finding::BankCard)
        );
        assert_eq!(
            scan("card 4111-1111-1111-1111 thanks"),
            Some(Finding::BankCard)
        );
        assert_eq!(scan("4111111111111111"), Some(Finding::BankCard));
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for text in [
            "客户希望下周三上门演示, 联系 13800138000",
            "预算 1250 万元, 2026-12-01 前决策",
            "11010519491231002Y",
            "4111 1111 1111 1112",
            "电话 010-12345678 转 8001",
            "USCC 91110000600037341L",
            "USCC 91350100M000100Y43 与 91110000600037341L",
            "PO4111111111111111",
            "",
        ] {
            assert_eq!(scan(text), None, "{text}");
        }
    }

    #[test]
    fn rejects_implausible_ids() {
        // Right check digit, impossible birth date (month 13).
        let mut id = *b"11010519491331000";
        let sum: u32 = id
            .iter()
            .zip(ID_WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        let check = ID_CHECK[(sum % 11) as usize];
        let full: Vec<u8> = id
            .iter_mut()
            .map(|b| *b)
            .chain(std::iter::once(check))
            .collect();
        assert!(!is_resident_id(&full));
    }
}
