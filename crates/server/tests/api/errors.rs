use crate::problem;
use muster_test_support::{db_tests, TestApp};

db_tests!(client_mistakes_get_problem_json);

async fn client_mistakes_get_problem_json(app: TestApp) {
    let (_, ada) = app.create_org("Acme", "ada@example.com").await;
    let token = app.token(ada).await;
    let http = reqwest::Client::new();
    let me = app.url("/api/v1/me");

    let broken = http
        .patch(&me)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"first_name\": ")
        .send()
        .await
        .expect("patch");
    problem(broken, 400).await;

    let wrong_shape = http
        .patch(&me)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"first_name\": 42}")
        .send()
        .await
        .expect("patch");
    let body = problem(wrong_shape, 422).await;
    assert_eq!(body["errors"][0]["field"], "first_name");

    let unknown_field = http
        .patch(&me)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"is_admin\": true}")
        .send()
        .await
        .expect("patch");
    problem(unknown_field, 422).await;

    let not_json = http
        .patch(&me)
        .bearer_auth(&token)
        .body("first_name=x")
        .send()
        .await
        .expect("patch");
    problem(not_json, 415).await;

    problem(app.api(&token).get("/api/v1/nothing-here").await, 404).await;
    let put = http.put(&me).bearer_auth(&token).send().await.expect("put");
    assert!(put.headers().contains_key("allow"));
    problem(put, 405).await;
    problem(app.api(&token).get("/api/v1/orgs/not-a-uuid").await, 404).await;

    let huge = format!("{{\"first_name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let too_large = http
        .patch(&me)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("patch");
    problem(too_large, 413).await;

    problem(
        http.get(&me)
            .bearer_auth("not a token")
            .send()
            .await
            .expect("get"),
        401,
    )
    .await;
    problem(
        http.get(&me)
            .header("authorization", "Basic YTpi")
            .send()
            .await
            .expect("get"),
        401,
    )
    .await;
}
