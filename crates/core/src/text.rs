//! Checked text: trimmed, not empty, bounded. Built only through `parse` (or serde, which calls it).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("text is empty")]
    Empty,
    #[error("text is longer than {max} characters")]
    TooLong { max: usize },
    #[error("text contains control characters")]
    ControlCharacters,
}

/// Whether text holds a control character (NUL, escape, …); line breaks and tabs are allowed
/// in multi-line text. Such text is refused wherever it enters, on every backend alike.
pub fn has_control_characters(s: &str, multiline: bool) -> bool {
    s.chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
}

macro_rules! text_type {
    ($(#[$m:meta])* $name:ident, $max:expr, $multiline:expr) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        /// In the API description: a string of 1 to MAX_CHARS characters without control
        /// characters (line breaks and tabs only in multi-line text).
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .min_length(Some(1))
                    .max_length(Some($max))
                    .pattern(Some(if $multiline {
                        r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
                    } else {
                        r"^[^\x00-\x1F\x7F-\x9F]*$"
                    }))
                    .into()
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: impl Into<String>) -> Result<Self, TextError> {
                let raw: String = raw.into();
                let trimmed = raw.trim();
                if trimmed.is_empty() {
                    return Err(TextError::Empty);
                }
                if trimmed.chars().count() > $max {
                    return Err(TextError::TooLong { max: $max });
                }
                if has_control_characters(trimmed, $multiline) {
                    return Err(TextError::ControlCharacters);
                }
                Ok(Self(trimmed.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// A name, a label, a short phrase: one line, at most 200 characters.
    ShortText, 200, false
);
text_type!(
    /// A narrative (presenting problem, assessment, minutes): at most 20,000 characters.
    LongText, 20_000, true
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_rejects_empty_and_oversized() {
        assert_eq!(
            ShortText::parse("  相談  ").map(|t| t.to_string()),
            Ok("相談".to_owned())
        );
        assert_eq!(ShortText::parse("   "), Err(TextError::Empty));
        assert_eq!(
            ShortText::parse("あ".repeat(201)),
            Err(TextError::TooLong { max: 200 })
        );
        assert!(ShortText::parse("あ".repeat(200)).is_ok());
        assert_eq!(ShortText::parse("a\nb"), Err(TextError::ControlCharacters));
        assert!(LongText::parse("一行目\n二行目").is_ok());
    }

    #[test]
    fn serde_goes_through_the_checking_constructor() {
        let err = serde_json::from_str::<ShortText>("\"\"");
        assert!(err.is_err());
        let ok: ShortText = serde_json::from_str("\"田中\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.as_str(), "田中");
    }
}

/// Text as search compares it, so that a name is found however it was typed: compatibility
/// forms unified (NFKC: half-width katakana and full-width letters and digits become their
/// usual forms), hiragana read as katakana, Latin letters in lower case, and spaces (of any
/// width) and the middle dot dropped. 「はやし ゆうこ」, 「ﾊﾔｼﾕｳｺ」 and 「ハヤシ　ユウコ」 all fold to
/// 「ハヤシユウコ」; 「林　優子」 and 「林優子」 to 「林優子」.
pub fn search_fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkc()
        .filter(|c| !c.is_whitespace() && *c != '・')
        .map(|c| match c {
            // ぁ..ゖ and the iteration marks ゝゞ: their katakana are 0x60 further on.
            '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' => {
                char::from_u32(c as u32 + 0x60).unwrap_or(c)
            }
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod fold_tests {
    use super::search_fold;

    #[test]
    fn names_fold_alike_whatever_the_script_width_and_spacing() {
        for typed in [
            "ハヤシ ユウコ",
            "はやし ゆうこ",
            "ハヤシ　ユウコ",
            "ﾊﾔｼ ﾕｳｺ",
            "はやしゆうこ",
            "ハヤシ・ユウコ",
        ] {
            assert_eq!(search_fold(typed), "ハヤシユウコ", "{typed}");
        }
        assert_eq!(search_fold("林　優子"), "林優子");
        assert_eq!(search_fold(" 林 優子 "), "林優子");
        // Voiced marks typed apart (half-width) compose with their letter.
        assert_eq!(search_fold("ｶﾞｸ"), "ガク");
        assert_eq!(search_fold("がく"), "ガク");
        // Full-width Latin letters and digits, and case.
        assert_eq!(search_fold("ＴＡＲＯ　１２"), "taro12");
        // Different names stay different.
        assert_ne!(search_fold("はやし"), search_fold("ばやし"));
        assert_ne!(search_fold("林"), search_fold("森"));
    }
}

/// Full-width digits (０–９) as ASCII digits, the rest unchanged: what users type in Japanese
/// input modes for numbers, years and case numbers.
pub fn half_width_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            c => c,
        })
        .collect()
}
