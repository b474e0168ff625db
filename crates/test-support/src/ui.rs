//! The web UI as a browser without JavaScript uses it: get a page, post a
//! form, follow the redirect. Pages come back as [`Html`] to query.

use crate::{Html, TestApp};

/// GETs `url`: the status and the page.
pub async fn page(client: &reqwest::Client, url: impl AsRef<str>) -> (u16, Html) {
    let url = url.as_ref();
    let response = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (status, body(response).await)
}

/// Posts a form to `url`: the status and the page that comes back (a form
/// that is refused is shown again with its errors).
pub async fn submit(
    client: &reqwest::Client,
    url: impl AsRef<str>,
    form: &[(&str, &str)],
) -> (u16, Html) {
    let response = send(client, url.as_ref(), form).await;
    let status = response.status().as_u16();
    (status, body(response).await)
}

/// Posts a form to `url`: the status and where it redirects to (empty when it
/// does not).
pub async fn post(
    client: &reqwest::Client,
    url: impl AsRef<str>,
    form: &[(&str, &str)],
) -> (u16, String) {
    let response = send(client, url.as_ref(), form).await;
    (response.status().as_u16(), location(&response))
}

/// Follows the redirect (303) after a form, as a browser does: the page it
/// leads to.
pub async fn follow(app: &TestApp, client: &reqwest::Client, response: reqwest::Response) -> Html {
    assert_eq!(response.status(), 303, "a redirect from {}", response.url());
    let to = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location")
        .to_owned();
    page(client, app.url(&to)).await.1
}

/// The `Location` header of `response`, or an empty string.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The value of the first `csrf_token` field of a page (an [`Html`] or its
/// markup).
pub fn csrf_field(page: &(impl AsRef<str> + ?Sized)) -> String {
    let page = Html::parse(page.as_ref());
    page.attr("input[name=csrf_token]", "value")
        .unwrap_or_else(|| panic!("a csrf_token field in this page:\n{page}"))
}

async fn send(client: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
    client
        .post(url)
        .form(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

async fn body(response: reqwest::Response) -> Html {
    let url = response.url().clone();
    Html::parse(
        response
            .text()
            .await
            .unwrap_or_else(|e| panic!("the page {url}: {e}")),
    )
}
