//! What operators and API clients read: `/metrics` and `/api/openapi.json`.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::client::servers;

#[tokio::test]
async fn metrics_count_requests_by_route_and_errors_by_code() {
    for server in servers().await {
        let (mut client, _) = server.signed_in("ada").await;
        client.get("/api/v1/me").await.ok();
        client
            .delete("/api/v1/me/credentials/AAAA")
            .await
            .assert_error(StatusCode::NOT_FOUND, "credential_not_found");
        client.get("/nowhere").await;
        let reply = server.metrics_client().get("/metrics").await;
        assert_eq!(reply.status, StatusCode::OK);
        let text = reply.text;
        for line in [
            "latch_http_requests_total{method=\"POST\",route=\"/api/v1/signup/begin\",status=\"200\"} 1",
            "latch_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"} 1",
            "latch_http_requests_total{method=\"DELETE\",route=\"/api/v1/me/credentials/{id}\",status=\"404\"} 1",
            "latch_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
            "latch_api_errors_total{code=\"credential_not_found\"} 1",
            "latch_api_errors_total{code=\"not_found\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}

/// Every call the document describes exists on the router (none answers with the router's
/// own 404), and the document lists the calls of the architecture's contract.
#[tokio::test]
async fn the_openapi_document_matches_the_router() {
    for server in servers().await {
        let mut client = server.client();
        let doc = client.get("/api/openapi.json").await.ok();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        for contract in [
            "/api/v1/signup/begin",
            "/api/v1/signup/finish",
            "/api/v1/login/begin",
            "/api/v1/login/finish",
            "/api/v1/login/password",
            "/api/v1/me/credentials",
            "/api/v1/me/credentials/begin",
            "/api/v1/me/credentials/finish",
            "/api/v1/me/credentials/{id}",
            "/api/v1/admin/policy",
            "/api/v1/admin/audit",
            "/healthz",
            "/metrics",
        ] {
            assert!(paths.contains_key(contract), "{contract} is not documented");
        }
        let mut calls = 0;
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()));
                assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()));
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let uri = path.replace("{id}", "AAAA");
                let body = (method != Method::GET).then(|| json!({}));
                let reply = client.send(method.clone(), &uri, body.as_ref()).await;
                assert_ne!(
                    reply.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
                assert_ne!(
                    reply.body["error"]["code"], "not_found",
                    "{method} {path} is documented but not routed"
                );
                calls += 1;
            }
        }
        assert!(calls >= 25, "{calls} calls documented");
    }
}
