//! Money in yuan with two decimal places, kept as whole fen (cents) so that it is exact on
//! every database and in every sum.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// An amount of money in yuan (CNY), exact to the fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(i64);

/// The largest amount accepted: ten billion yuan (100 亿元), far above any single B2B deal,
/// and small enough that millions of such amounts still add up exactly in a 64-bit sum.
pub const MAX_FEN: i64 = 1_000_000_000_000;

impl Money {
    /// Parses a non-negative decimal string such as `"1250000.00"`.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        hundredths(raw, MAX_FEN).map(Self).map_err(|e| {
            e.message(
                "must be a decimal amount in yuan such as \"1250000.00\"",
                "must not exceed 10000000000.00",
            )
        })
    }

    /// From whole fen, as stored.
    pub fn from_fen(fen: i64) -> Self {
        Self(fen)
    }

    /// Whole fen, as stored.
    pub fn fen(self) -> i64 {
        self.0
    }

    /// As a decimal number of yuan.
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// The same amount in hundredths of 万元 (10,000 yuan), rounded down: the unit of
    /// declared budgets and of the tier policy.
    pub fn wan_hundredths(self) -> i64 {
        self.0 / 10_000
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.to_decimal())
    }
}

/// Why a decimal string is not an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// Not a plain decimal number (exponents, separators, signs other than `-`).
    Format,
    /// Below zero.
    Negative,
    /// More than two decimal places.
    Scale,
    /// Above the bound.
    TooLarge,
}

impl DecimalError {
    /// The message for a field, with the caller's words for the format and the bound.
    pub fn message(self, format: &'static str, too_large: &'static str) -> &'static str {
        match self {
            Self::Format => format,
            Self::Negative => "must not be negative",
            Self::Scale => "may have at most two decimal places",
            Self::TooLarge => too_large,
        }
    }
}

/// A non-negative decimal string with at most two decimals, as a whole number of
/// hundredths no larger than `max`; exact, whatever its length.
pub fn hundredths(raw: &str, max: i64) -> Result<i64, DecimalError> {
    let raw = raw.trim();
    let plain = !raw.is_empty()
        && raw
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        && raw.matches('.').count() <= 1;
    if !plain {
        return Err(DecimalError::Format);
    }
    let d = Decimal::from_str(raw).map_err(|_| DecimalError::Format)?;
    if d.is_sign_negative() && !d.is_zero() {
        return Err(DecimalError::Negative);
    }
    if d.normalize().scale() > 2 {
        return Err(DecimalError::Scale);
    }
    d.checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|h| i64::try_from(h.trunc()).ok())
        .filter(|h| *h <= max)
        .ok_or(DecimalError::TooLarge)
}

/// A sum of amounts given in fen (wider than one amount), in yuan with two decimals.
pub fn sum_yuan(fen: i128) -> String {
    format!("{:.2}", Decimal::from_i128_with_scale(fen, 2))
}

/// Σ amount × probability, given as Σ(fen × percent), in yuan rounded half-even to the fen.
pub fn weighted_yuan(fen_times_percent: i128) -> String {
    let exact = Decimal::from_i128_with_scale(fen_times_percent, 4);
    format!(
        "{:.2}",
        exact.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        assert_eq!(
            Money::parse("1250000").map(|m| m.to_string()),
            Ok("1250000.00".to_owned())
        );
        assert_eq!(Money::parse("0.1").map(Money::fen), Ok(10));
        assert_eq!(Money::parse("19.99").map(Money::fen), Ok(1999));
        assert!(Money::parse("-1").is_err());
        assert!(Money::parse("1.001").is_err());
        assert!(Money::parse("1e5").is_err());
        assert!(Money::parse("").is_err());
        assert!(Money::parse("10000000000.00").is_ok());
        assert!(Money::parse("10000000000.01").is_err());
        assert!(Money::parse("9999999999999999999999999999").is_err());
        assert!(Money::parse("79228162514264337593543950335").is_err());
        assert_eq!(Money::from_fen(123_456_789).wan_hundredths(), 12_345);
    }

    #[test]
    fn weighted_sums_round_to_the_fen() {
        // 0.01 yuan at 30 % is 0.003 yuan.
        assert_eq!(weighted_yuan(30), "0.00");
        // 100.00 yuan at 60 % + 33.33 at 90 %: 60.00 + 29.997 = 89.997.
        assert_eq!(weighted_yuan(10_000 * 60 + 3_333 * 90), "90.00");
        assert_eq!(weighted_yuan(0), "0.00");
    }
}
