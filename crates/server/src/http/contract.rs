//! Completes the generated OpenAPI document with what every route shares, so
//! the document states every answer the server can give: errors are
//! `application/problem+json`, and the generic 400/401/404/408/413/415/422 and
//! 503/507 are listed wherever the route can produce them.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};
use utoipa::Modify;

pub struct ProblemResponses;

const PROBLEM: &str = "application/problem+json";

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                complete(operation);
            }
        }
    }
}

fn complete(operation: &mut Operation) {
    let has = |place: ParameterIn| {
        operation
            .parameters
            .iter()
            .flatten()
            .any(|p| p.parameter_in == place)
    };
    let (query, path) = (has(ParameterIn::Query), has(ParameterIn::Path));
    let body = operation.request_body.is_some();
    // `security(())` marks the routes that need no credentials.
    let public = operation
        .security
        .as_ref()
        .is_some_and(|all| all.iter().all(|r| *r == Default::default()));
    let generic = [
        ("400", query || body, "Malformed query or body"),
        ("401", !public, "No, invalid or expired credentials"),
        ("404", path, "Not found, or not visible to you"),
        ("413", body, "The body is too large"),
        ("415", body, "The body's Content-Type is not accepted"),
        ("422", query || body, "A field is not valid"),
        ("408", body, "The body stopped arriving"),
        (
            "503",
            true,
            "The database is unavailable; try again after Retry-After",
        ),
        (
            "507",
            true,
            "The server's storage is full; nothing was saved",
        ),
    ];
    for (status, applies, description) in generic {
        if applies && !operation.responses.responses.contains_key(status) {
            let mut response = Response::new(description);
            response.content.insert(PROBLEM.into(), problem_content());
            operation
                .responses
                .responses
                .insert(status.into(), RefOr::T(response));
        }
    }
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if status.starts_with('4') || status.starts_with('5') {
            if let Some(content) = response.content.shift_remove("application/json") {
                response.content.insert(PROBLEM.into(), content);
            }
        }
    }
}

fn problem_content() -> Content {
    Content::new(Some(Ref::from_schema_name("Problem")))
}
