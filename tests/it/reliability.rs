//! Reliability: every fault gives its documented typed error within the
//! configured timeout, never a panic or hang, and the same client succeeds on
//! the next request. All of it runs with tracing at TRACE captured, and no
//! secret may appear in any captured line or error message.

use std::time::{Duration, Instant};

use apiclient_auth::ExposeSecret;
use apiclient_errors::{ConnectionErrorKind, Error};
use apiclient_fake::{FakeCloud, Fault};
use apiclient_http::{ApiRequest, RetryPolicy};
use serde_json::Value;

use crate::support::{builder, with_captured_trace};

const TIMEOUT: Duration = Duration::from_millis(700);

fn kind(e: &Error) -> Option<ConnectionErrorKind> {
    match e {
        Error::Connection(c) => Some(c.kind()),
        _ => None,
    }
}

/// What each fault must produce.
#[derive(Debug)]
enum Expect {
    Ok,
    Conn(ConnectionErrorKind),
    Timeout,
    Invalid,
    Status(u16),
}

#[test]
fn every_fault_is_typed_bounded_and_recoverable_and_nothing_leaks() {
    let ((secrets, displays), log) = with_captured_trace(|| async {
        let cloud = FakeCloud::builder().servers(50).start().await.unwrap();
        let http = builder(&cloud)
            .timeout(TIMEOUT)
            .retry(RetryPolicy::none())
            .max_response_bytes(256 * 1024)
            .build()
            .unwrap();
        let compute = http.service_client("compute");
        compute.get("/servers").await.unwrap();
        let cases: Vec<(Fault, Expect)> = vec![
            (
                Fault::DropConnection,
                Expect::Conn(ConnectionErrorKind::Closed),
            ),
            (
                Fault::TruncatedBody,
                Expect::Conn(ConnectionErrorKind::Closed),
            ),
            (Fault::Delay(Duration::from_secs(5)), Expect::Timeout),
            (Fault::StalledBody(Duration::from_secs(5)), Expect::Timeout),
            (
                Fault::SlowDrip {
                    chunks: 5,
                    interval: Duration::from_millis(60),
                },
                Expect::Ok,
            ),
            (Fault::TruncatedJson, Expect::Invalid),
            (Fault::InvalidJson, Expect::Invalid),
            (Fault::BadGatewayHtml, Expect::Status(502)),
            (Fault::CloseConnection, Expect::Ok),
            (Fault::ServiceUnavailable, Expect::Status(503)),
            (
                Fault::TooManyRequests { retry_after: 30 },
                Expect::Status(429),
            ),
        ];
        let mut displays = Vec::new();
        for (fault, expect) in cases {
            cloud.inject(fault.clone(), 1);
            let t0 = Instant::now();
            let result = async { compute.get("/servers").await?.json::<Value>() }.await;
            assert!(
                t0.elapsed() < TIMEOUT + Duration::from_secs(2),
                "{fault:?} took {:?}",
                t0.elapsed()
            );
            match (&expect, &result) {
                (Expect::Ok, Ok(v)) => assert_eq!(v["servers"].as_array().unwrap().len(), 50),
                (Expect::Conn(k), Err(e)) => assert_eq!(kind(e), Some(*k), "{fault:?}: {e:?}"),
                (Expect::Timeout, Err(e)) => assert!(e.is_timeout(), "{fault:?}: {e:?}"),
                (Expect::Invalid, Err(e)) => assert!(
                    matches!(e, Error::InvalidResponse { .. }),
                    "{fault:?}: {e:?}"
                ),
                (Expect::Status(s), Err(e)) => assert_eq!(e.status(), Some(*s), "{fault:?}: {e:?}"),
                _ => panic!("{fault:?}: expected {expect:?}, got {result:?}"),
            }
            if let Err(e) = &result {
                displays.push(e.to_string());
            }
            if let Expect::Status(429) = expect {
                assert_eq!(
                    result.as_ref().unwrap_err().retry_after(),
                    Some(Duration::from_secs(30))
                );
            }
            // the same client succeeds on the next request
            compute
                .get("/servers")
                .await
                .unwrap_or_else(|e| panic!("after {fault:?}: {e}"));
        }
        // a body over the size limit
        cloud.set_servers(5000);
        let e = compute
            .request(ApiRequest::get("/servers").query("limit", "5000"))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::ResponseTooLarge { .. }), "{e:?}");
        displays.push(e.to_string());
        cloud.set_servers(5);
        compute.get("/servers").await.unwrap();
        // a server that closes every keep-alive connection
        let before = cloud.connections_accepted();
        cloud.inject(Fault::CloseConnection, 20);
        for _ in 0..20 {
            compute.get("/servers").await.unwrap();
        }
        // All 20 succeeded; each closed its connection, so all but the (at
        // most 3) connections already idle in the pool were opened afresh.
        let fresh = cloud.connections_accepted() - before;
        assert!(
            fresh >= 17,
            "only {fresh} new connections for 20 closed ones"
        );
        // an application credential flow and a wrong password, for the audit
        let ac = apiclient_auth::typed::V3ApplicationCredential::by_id(
            cloud.auth_url(),
            "ac-1",
            "appcredsecret",
        );
        let h2 = apiclient_http::HttpClient::builder(ac).build().unwrap();
        h2.service_client("compute").get("/servers").await.unwrap();
        let bad = apiclient_auth::KeystonePlugin::v3_password(
            cloud.auth_url(),
            "demo",
            "Default",
            "wrong-pass-XYZ",
        );
        let e = apiclient_http::HttpClient::builder(Box::new(bad))
            .build()
            .unwrap()
            .authenticate()
            .await
            .unwrap_err();
        displays.push(e.to_string());
        displays.push(format!("{e:?}"));
        let secrets = vec![
            http.token_state()
                .access()
                .unwrap()
                .token()
                .expose_secret()
                .to_string(),
            h2.token_state()
                .access()
                .unwrap()
                .token()
                .expose_secret()
                .to_string(),
        ];
        (secrets, displays)
    });
    assert!(log.contains("REQ: curl"), "TRACE capture is on");
    for s in
        secrets
            .iter()
            .map(String::as_str)
            .chain(["demopass", "appcredsecret", "wrong-pass-XYZ"])
    {
        assert!(
            !log.contains(s),
            "the TRACE log holds a secret ({} chars)",
            s.len()
        );
        for d in &displays {
            assert!(!d.contains(s), "an error message holds a secret: {d}");
        }
    }
}
