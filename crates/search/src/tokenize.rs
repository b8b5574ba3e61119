//! Japanese without a dictionary: text is folded as name search folds it
//! (`tsunagu_core::text::search_fold`: NFKC, hiragana as katakana, Latin in lower case) and cut
//! at every character that is not a letter or digit; each run of letters and digits gives its
//! overlapping pairs of characters (CJK bigrams), a run of one character gives that character.
//! 「家賃を滞納」 gives 家賃, 賃ヲ, ヲ滞, 滞納; a query is the same pairs at the same distances, so
//! it finds its words wherever they stand, whatever script or width they were typed in.
//! Offsets point into the original text (for the snippet), positions count pairs, with a gap
//! at each cut so that a phrase does not run across punctuation.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The name the index registers the tokenizer under.
pub const NAME: &str = "tsunagu_bigram";

#[derive(Clone, Default)]
pub struct BigramTokenizer;

/// A folded character with the bytes of the original text it came from.
#[derive(Clone, Copy)]
struct Folded {
    c: char,
    from: usize,
    to: usize,
}

/// Voiced and semi-voiced marks typed apart (half-width ﾞ ﾟ, or combining) belong to the
/// letter before them.
fn joins_previous(c: char) -> bool {
    matches!(c, '\u{FF9E}' | '\u{FF9F}' | '\u{3099}' | '\u{309A}')
}

/// The common characters fold without building a string.
fn fold_fast(c: char) -> Option<char> {
    match c {
        'a'..='z' | '0'..='9' => Some(c),
        'A'..='Z' => Some(c.to_ascii_lowercase()),
        // Hiragana (and its iteration marks) read as katakana.
        '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' => char::from_u32(c as u32 + 0x60),
        // Katakana (full width), the long vowel mark, CJK ideographs.
        '\u{30A1}'..='\u{30FA}' | '\u{30FC}'..='\u{30FE}' | '\u{4E00}'..='\u{9FFF}' => Some(c),
        _ => None,
    }
}

/// Runs of letters and digits, folded, with their original offsets.
fn runs(text: &str) -> Vec<Vec<Folded>> {
    let mut out: Vec<Vec<Folded>> = Vec::new();
    let mut run: Vec<Folded> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((from, c)) = chars.next() {
        let mut to = from + c.len_utf8();
        let mut unit_end = to;
        while let Some(&(i, next)) = chars.peek() {
            if !joins_previous(next) {
                break;
            }
            unit_end = i + next.len_utf8();
            chars.next();
        }
        let folded: Vec<char> = if unit_end == to {
            match fold_fast(c) {
                Some(f) => vec![f],
                None => tsunagu_core::text::search_fold(&text[from..to])
                    .chars()
                    .collect(),
            }
        } else {
            to = unit_end;
            tsunagu_core::text::search_fold(&text[from..to])
                .chars()
                .collect()
        };
        let mut any = false;
        for f in folded {
            if f.is_alphanumeric() {
                run.push(Folded { c: f, from, to });
                any = true;
            } else if !run.is_empty() {
                out.push(std::mem::take(&mut run));
            }
        }
        // Spaces and 「・」 fold to nothing: they cut as punctuation does.
        if !any && !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// The tokens of a text: pairs of folded characters (a single character for a run of one).
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut position = 0;
    for run in runs(text) {
        if run.len() == 1 {
            out.push(Token {
                offset_from: run[0].from,
                offset_to: run[0].to,
                position,
                text: run[0].c.to_string(),
                position_length: 1,
            });
            position += 1;
        } else {
            for pair in run.windows(2) {
                let mut text = String::with_capacity(8);
                text.push(pair[0].c);
                text.push(pair[1].c);
                out.push(Token {
                    offset_from: pair[0].from,
                    offset_to: pair[1].to,
                    position,
                    text,
                    position_length: 1,
                });
                position += 1;
            }
        }
        // A gap between runs: a phrase never spans a cut.
        position += 1;
    }
    out
}

pub struct Tokens {
    tokens: std::vec::IntoIter<Token>,
    current: Token,
}

impl TokenStream for Tokens {
    fn advance(&mut self) -> bool {
        match self.tokens.next() {
            Some(t) => {
                self.current = t;
                true
            }
            None => false,
        }
    }
    fn token(&self) -> &Token {
        &self.current
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = Tokens;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Tokens {
        Tokens {
            tokens: tokens(text).into_iter(),
            current: Token::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokens(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn japanese_text_gives_folded_pairs_cut_at_punctuation() {
        assert_eq!(texts("家賃を滞納"), ["家賃", "賃ヲ", "ヲ滞", "滞納"]);
        assert_eq!(texts("家賃、滞納"), ["家賃", "滞納"]);
        // Scripts and widths fold alike.
        assert_eq!(texts("はやし"), texts("ﾊﾔｼ"));
        assert_eq!(texts("はやし"), texts("ハヤシ"));
        assert_eq!(texts("ｶﾞｽ代"), texts("ガス代"));
        assert_eq!(texts("ＤＶ"), ["dv"]);
        assert_eq!(texts("林"), ["林"]);
        // Offsets point into the original text.
        let t = tokens("ﾊﾔｼさん");
        assert_eq!(&"ﾊﾔｼさん"[t[0].offset_from..t[0].offset_to], "ﾊﾔ");
        let t = tokens("A、ガス");
        assert_eq!(t[0].text, "a");
        assert_eq!(&"A、ガス"[t[1].offset_from..t[1].offset_to], "ガス");
        assert_eq!(t[1].position, 2, "a gap at the cut");
    }
}
