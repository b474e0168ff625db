//! [`Html`]: a page as a browser without JavaScript parses it, queried with
//! CSS selectors, so that a UI test names the element that should carry a text
//! (a table cell, the error next to a field, a heading) instead of searching
//! the markup for a substring.

use html5ever::driver::{self, ParseOpts};
use html5ever::tendril::TendrilSink;
use html5ever::tree_builder::TreeBuilderOpts;
use scraper::{ElementRef, HtmlTreeSink, Node, Selector};
use std::fmt;

/// The markup of one page. Texts are whitespace-normalized (runs of
/// whitespace become one space, no space at either end) and entities decoded.
/// Queries panic on a malformed selector (a mistake in the test); the page is
/// parsed again for each query, which keeps `Html` `Send` and cheap to hold.
#[derive(Clone)]
pub struct Html {
    source: String,
}

/// Runs of whitespace as one space, none at the ends.
pub fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("the selector {css:?} does not parse: {e}"))
}

fn text_of(element: ElementRef<'_>) -> String {
    squash(&element.text().collect::<String>())
}

impl Html {
    pub fn parse(source: impl Into<String>) -> Html {
        Html {
            source: source.into(),
        }
    }

    /// The markup as it was received, for checks that are about the raw
    /// output itself (e.g. that no inline `<script>` is sent).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Parsed with scripting off, as a browser without JavaScript: the
    /// content of `<noscript>` is markup, not text.
    fn document(&self) -> scraper::Html {
        let options = ParseOpts {
            tree_builder: TreeBuilderOpts {
                scripting_enabled: false,
                ..TreeBuilderOpts::default()
            },
            ..ParseOpts::default()
        };
        driver::parse_document(HtmlTreeSink::new(scraper::Html::new_document()), options)
            .one(self.source.as_str())
    }

    fn each<T>(&self, css: &str, mut f: impl FnMut(ElementRef<'_>) -> Option<T>) -> Vec<T> {
        let document = self.document();
        let selector = selector(css);
        document.select(&selector).filter_map(&mut f).collect()
    }

    /// The text of every element that matches `css`, in document order.
    pub fn select(&self, css: &str) -> Vec<String> {
        self.each(css, |e| Some(text_of(e)))
    }

    /// How many elements match `css`.
    pub fn count(&self, css: &str) -> usize {
        self.each(css, |_| Some(())).len()
    }

    /// Whether any element matches `css`.
    pub fn has(&self, css: &str) -> bool {
        self.count(css) > 0
    }

    /// Whether an element that matches `css` has exactly the text `text`.
    pub fn has_text(&self, css: &str, text: &str) -> bool {
        self.select(css).iter().any(|t| t == text)
    }

    /// The text of the first element that matches `css`; panics, showing the
    /// page, when there is none.
    pub fn text_of(&self, css: &str) -> String {
        self.select(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element matches {css:?} in this page:\n{self}"))
    }

    /// The attribute `name` of the first element that matches `css` and has it.
    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.attrs(css, name).into_iter().next()
    }

    /// The attribute `name` of every element that matches `css` and has it.
    pub fn attrs(&self, css: &str, name: &str) -> Vec<String> {
        self.each(css, |e| e.attr(name).map(str::to_owned))
    }

    /// The cells (`td` and `th`) of each table row that matches `css`.
    pub fn rows(&self, css: &str) -> Vec<Vec<String>> {
        let cell = selector("td, th");
        self.each(css, |row| Some(row.select(&cell).map(text_of).collect()))
    }

    /// The error shown right after the label that holds the field named `name`
    /// (`<label>… <input name="…"></label><p class="field-error">…</p>`).
    /// A screen reader must meet it too: panics unless the field is marked
    /// `aria-invalid="true"` and `aria-describedby` names the error.
    pub fn field_error(&self, name: &str) -> Option<String> {
        let css = format!("label:has([name=\"{name}\"]) + .field-error");
        let message = self.select(&css).into_iter().next()?;
        let id = self
            .attr(&css, "id")
            .unwrap_or_else(|| panic!("the error of {name} has no id to point to: {message}"));
        let field = format!("[name=\"{name}\"]");
        assert_eq!(
            self.attr(&field, "aria-invalid").as_deref(),
            Some("true"),
            "the field {name} with an error is not marked invalid"
        );
        let described = self.attr(&field, "aria-describedby").unwrap_or_default();
        assert!(
            described.split_whitespace().any(|d| d == id),
            "the field {name} is not described by its error #{id} (aria-describedby={described:?})"
        );
        Some(message)
    }

    /// The text of `<body>` as one string, without scripts and styles; the
    /// texts of separate nodes are separated by a space.
    pub fn text(&self) -> String {
        let document = self.document();
        let body = selector("body");
        let Some(body) = document.select(&body).next() else {
            return String::new();
        };
        let mut parts = Vec::new();
        for node in body.descendants() {
            let Node::Text(text) = node.value() else {
                continue;
            };
            let hidden = node
                .parent()
                .and_then(ElementRef::wrap)
                .is_some_and(|p| matches!(p.value().name(), "script" | "style" | "template"));
            if !hidden {
                parts.push(&**text);
            }
        }
        squash(&parts.join(" "))
    }

    /// Whether `needle` is anywhere in the document: in a text (the title and
    /// scripts included), a comment or an attribute value. For checks that
    /// something (a secret, another organization's name) is not on a page at all.
    pub fn mentions(&self, needle: &str) -> bool {
        self.document().tree.nodes().any(|node| match node.value() {
            Node::Text(text) => text.contains(needle),
            Node::Comment(comment) => comment.contains(needle),
            Node::Element(element) => element.attrs().any(|(_, value)| value.contains(needle)),
            _ => false,
        })
    }
}

/// The markup, for assertion messages.
impl fmt::Display for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl AsRef<str> for Html {
    fn as_ref(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html data-theme="dark"><head><title>T</title>
<noscript><meta http-equiv="refresh" content="2"></noscript><script>var secret = "s3";</script></head>
<body><h1>  Users
 list </h1><!-- c0mment -->
<form><input type="hidden" name="csrf_token" value="a&#x2f;b"></form>
<label>Email <input name="email" aria-invalid="true" aria-describedby="email-error"></label><p class="field-error" id="email-error">bad email</p>
<label>Name <input name="name"></label>
<table><tbody><tr data-email="a@x"><td>A</td><td><strong>expired</strong> in 2 days</td></tr>
<tr data-email="b@x"><td>B</td><td>ok</td></tr></tbody></table></body></html>"#;

    #[test]
    fn queries_name_elements_and_normalize_their_text() {
        let page = Html::parse(PAGE);
        assert_eq!(page.text_of("h1"), "Users list");
        assert_eq!(page.count("tr[data-email]"), 2);
        assert!(page.has("meta[http-equiv=refresh]"), "noscript is markup");
        assert!(page.has_text("td", "B") && !page.has_text("td", "C"));
        assert_eq!(
            page.attr("input[name=csrf_token]", "value").as_deref(),
            Some("a/b")
        );
        assert_eq!(page.attr("html", "data-theme").as_deref(), Some("dark"));
        assert_eq!(page.attrs("tr", "data-email"), ["a@x", "b@x"]);
        assert_eq!(
            page.rows("tbody tr"),
            [["A", "expired in 2 days"], ["B", "ok"]]
        );
        assert_eq!(page.field_error("email").as_deref(), Some("bad email"));
        assert_eq!(page.field_error("name"), None);
        assert_eq!(page.select("p.nothing"), Vec::<String>::new());
    }

    #[test]
    #[should_panic(expected = "is not described by its error")]
    fn a_field_error_a_screen_reader_cannot_tie_to_its_field_fails() {
        let page = Html::parse(
            r#"<label>Email <input name="email" aria-invalid="true"></label><p class="field-error" id="email-error">bad</p>"#,
        );
        let _ = page.field_error("email");
    }

    #[test]
    fn page_text_leaves_out_scripts_and_mentions_finds_everything() {
        let page = Html::parse(PAGE);
        let text = page.text();
        assert!(
            text.starts_with("Users list Email bad email Name A expired"),
            "{text}"
        );
        assert!(!text.contains("s3") && !text.contains("c0mment"));
        for needle in ["s3", "c0mment", "a/b", "T", "bad email"] {
            assert!(page.mentions(needle), "{needle}");
        }
        assert!(!page.mentions("nowhere"));
    }

    #[test]
    #[should_panic(expected = "no element matches")]
    fn a_missing_element_fails_with_the_page() {
        Html::parse(PAGE).text_of("#none");
    }
}
