//! Cells of the CSV files Muster writes: a spreadsheet runs a cell that starts
//! with `=`, `+`, `-` or `@` (or their full-width forms, or a tab, carriage
//! return or newline before one) as a formula, so such a cell gets a leading
//! `'` and is shown as the text it is.

use std::borrow::Cow;

pub fn safe_cell(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\n' | '＝' | '＋' | '－' | '＠') => {
            Cow::Owned(format!("'{text}"))
        }
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_cell;

    #[test]
    fn formulas_become_text() {
        assert_eq!(
            safe_cell("=HYPERLINK(\"http://evil.test\")"),
            "'=HYPERLINK(\"http://evil.test\")"
        );
        assert_eq!(safe_cell("+1"), "'+1");
        assert_eq!(safe_cell("-2"), "'-2");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("\t=1"), "'\t=1");
        assert_eq!(safe_cell("\n=1"), "'\n=1");
        assert_eq!(safe_cell("＝1+1"), "'＝1+1");
        assert_eq!(safe_cell("ada@example.com"), "ada@example.com");
        assert_eq!(safe_cell(""), "");
    }
}
