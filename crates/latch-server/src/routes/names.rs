//! Checks on the names people choose: usernames, display names, credential names.

use crate::error::ApiError;

const MAX_CHARS: usize = 64;

fn check(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Err("must not be empty");
    }
    if text.chars().count() > MAX_CHARS {
        return Err("must be at most 64 characters");
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(text.to_owned())
}

/// A username: trimmed, lowercased (so `Ada` and `ada` are one account), no spaces.
pub fn username(text: &str) -> Result<String, ApiError> {
    let name = check(text).map_err(ApiError::InvalidUsername)?;
    if name.chars().any(char::is_whitespace) {
        return Err(ApiError::InvalidUsername("must not contain spaces"));
    }
    Ok(name.to_lowercase())
}

pub fn display_name(text: &str) -> Result<String, ApiError> {
    check(text).map_err(ApiError::InvalidDisplayName)
}

pub fn credential_name(text: &str) -> Result<String, ApiError> {
    check(text).map_err(ApiError::InvalidCredentialName)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_lowercased() {
        assert_eq!(username("  Ada ").unwrap(), "ada");
        assert_eq!(username("a b").unwrap_err().code(), "invalid_username");
        assert_eq!(username("   ").unwrap_err().code(), "invalid_username");
        assert_eq!(
            username(&"x".repeat(65)).unwrap_err().code(),
            "invalid_username"
        );
        assert_eq!(username("a\u{0}").unwrap_err().code(), "invalid_username");
    }

    #[test]
    fn display_names_keep_case_and_spaces() {
        assert_eq!(display_name(" Ada Lovelace ").unwrap(), "Ada Lovelace");
        assert_eq!(display_name("").unwrap_err().code(), "invalid_display_name");
        assert_eq!(
            credential_name("\n").unwrap_err().code(),
            "invalid_credential_name"
        );
    }
}
