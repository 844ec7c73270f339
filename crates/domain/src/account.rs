//! Account rules: what a username and a password must look like.

/// Shortest password accepted (OWASP ASVS: at least 8; we ask for more).
pub const MIN_PASSWORD_LEN: usize = 10;
/// Longest password accepted; argon2 takes any length, this bounds the work per request.
pub const MAX_PASSWORD_LEN: usize = 256;

/// A username: 3–32 characters of lower-case ASCII letters, digits, `.`, `_` or `-`,
/// starting with a letter. Input is trimmed and lower-cased, so `Alice` and `alice` are one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Parses and normalises a username.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim().to_lowercase();
        if !(3..=32).contains(&s.chars().count()) {
            return Err("must be 3 to 32 characters long");
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err("must start with a letter");
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Err("may contain only letters, digits, '.', '_' and '-'");
        }
        Ok(Self(s))
    }

    /// The normalised username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a new password against the policy. Returns the reason it is refused.
pub fn check_new_password(password: &str, username: &str) -> Result<(), &'static str> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err("must be at least 10 characters long");
    }
    if len > MAX_PASSWORD_LEN {
        return Err("must be at most 256 characters long");
    }
    let lower = password.to_lowercase();
    if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        return Err("must not contain the username");
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err("must not repeat a single character");
    }
    Ok(())
}

/// Failed logins allowed in a row before an account name is locked.
pub const FREE_FAILURES: i32 = 5;
/// Longest lock, in seconds.
pub const MAX_LOCK_SECS: i64 = 15 * 60;
/// Failures older than this (seconds since the last one) are forgotten.
pub const FAILURE_MEMORY_SECS: i64 = 15 * 60;

/// How long to lock an account name after its `failures`-th failure in a row: nothing for
/// the first [`FREE_FAILURES`], then `base_secs`, doubling with each further failure, capped
/// at [`MAX_LOCK_SECS`] (OWASP: throttle per account, back off exponentially).
pub fn lock_secs(failures: i32, base_secs: i64) -> Option<i64> {
    if failures < FREE_FAILURES {
        return None;
    }
    let doublings = u32::try_from(failures - FREE_FAILURES).unwrap_or(0).min(20);
    Some(
        base_secs
            .saturating_mul(1_i64 << doublings)
            .min(MAX_LOCK_SECS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_five_failures_and_backs_off() {
        assert_eq!(lock_secs(4, 30), None);
        assert_eq!(lock_secs(5, 30), Some(30));
        assert_eq!(lock_secs(6, 30), Some(60));
        assert_eq!(lock_secs(7, 30), Some(120));
        assert_eq!(lock_secs(40, 30), Some(MAX_LOCK_SECS));
    }

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(
            Username::parse("  Alice.W ").map(|u| u.0),
            Ok("alice.w".to_owned())
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("1abc").is_err());
        assert!(Username::parse("张三").is_err());
        assert!(Username::parse("a b c").is_err());
        assert!(Username::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn passwords_follow_the_policy() {
        assert!(check_new_password("correct horse battery", "alice").is_ok());
        assert!(check_new_password("short", "alice").is_err());
        assert!(check_new_password("my-ALICE-password", "alice").is_err());
        assert!(check_new_password("aaaaaaaaaaaa", "bob").is_err());
        assert!(check_new_password(&"x1".repeat(200), "bob").is_err());
    }
}
