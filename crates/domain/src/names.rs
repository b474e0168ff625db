//! Free-text fields with limits: person names, organization names, passwords.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TextError {
    #[error("this field is required")]
    Required,
    #[error("at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters")]
    Control,
}

/// Trims `input` and checks it is non-empty, at most `max` characters and free of
/// control characters.
pub fn required_text(input: &str, max: usize) -> Result<String, TextError> {
    let value = input.trim();
    if value.is_empty() {
        return Err(TextError::Required);
    }
    optional_text(value, max)
}

/// Like [`required_text`] but an empty value is allowed.
pub fn optional_text(input: &str, max: usize) -> Result<String, TextError> {
    let value = input.trim();
    if value.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(TextError::Control);
    }
    Ok(value.to_owned())
}

pub const NAME_MAX: usize = 100;
pub const ORG_NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 1000;

pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PasswordError {
    #[error("use at least {PASSWORD_MIN} characters")]
    TooShort,
    #[error("use at most {PASSWORD_MAX} characters")]
    TooLong,
}

/// Length is the rule that matters (NIST SP 800-63B); no composition rules.
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    let len = password.chars().count();
    if len < PASSWORD_MIN {
        Err(PasswordError::TooShort)
    } else if len > PASSWORD_MAX {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// A BCP 47 language tag such as `en`, `de` or `fr-CA`, normalized to the usual
/// case (`fr-CA`, `zh-Hant-TW`), whose language is one of ISO 639 (a made-up
/// `zz` would otherwise pass and quietly get the default language's mail).
pub fn language_tag(input: &str) -> Result<String, &'static str> {
    const MSG: &str = "use a language tag such as en, de or fr-CA";
    let mut parts = input.trim().split('-');
    let primary = parts.next().unwrap_or_default();
    if !(2..=3).contains(&primary.len()) || !primary.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(MSG);
    }
    let code = primary.to_ascii_lowercase();
    let known = match code.len() {
        2 => isolang::Language::from_639_1(&code).is_some(),
        _ => isolang::Language::from_639_3(&code).is_some(),
    };
    if !known {
        return Err("not a language ISO 639 knows; use a tag such as en, de or fr-CA");
    }
    let mut out = primary.to_ascii_lowercase();
    for part in parts {
        if part.is_empty() || part.len() > 8 || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(MSG);
        }
        out.push('-');
        match part.len() {
            2 if part.chars().all(|c| c.is_ascii_alphabetic()) => {
                out.push_str(&part.to_ascii_uppercase())
            }
            4 => {
                let mut chars = part.chars();
                if let Some(first) = chars.next() {
                    out.push(first.to_ascii_uppercase());
                }
                out.push_str(&chars.as_str().to_ascii_lowercase());
            }
            _ => out.push_str(&part.to_ascii_lowercase()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_are_normalized() {
        assert_eq!(language_tag("EN"), Ok("en".into()));
        assert_eq!(language_tag("fr-ca"), Ok("fr-CA".into()));
        assert_eq!(language_tag("zh-hant-tw"), Ok("zh-Hant-TW".into()));
        assert!(language_tag("english").is_err());
        assert_eq!(language_tag("deu"), Ok("deu".into()));
        assert!(language_tag("zz").is_err(), "no such language");
        assert!(language_tag("zz-US").is_err());
        assert!(language_tag("qqq").is_err());
        assert!(language_tag("en-").is_err());
        assert!(language_tag("").is_err());
    }

    #[test]
    fn text_limits() {
        assert_eq!(required_text("  Ada ", 10), Ok("Ada".into()));
        assert_eq!(required_text("   ", 10), Err(TextError::Required));
        assert_eq!(required_text("abcdef", 5), Err(TextError::TooLong(5)));
        assert_eq!(required_text("a\u{0}b", 5), Err(TextError::Control));
    }

    #[test]
    fn password_length() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough pass").is_ok());
    }
}
