//! TLS against a loopback server with a throw-away CA: refused by default,
//! accepted with the CA, accepted with insecure, client certificate presented.

use std::sync::Arc;
use std::time::Duration;

use apiclient_auth::KeystonePlugin;
use apiclient_errors::{ConnectionErrorKind, Error};
use apiclient_http::{HttpClient, RetryPolicy, TlsConfig};
use bytes::Bytes;
use http_body_util::Full;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub(crate) struct Pki {
    pub(crate) dir: tempfile::TempDir,
    ca_der: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key_pem: String,
}

pub(crate) fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::CrlSign,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["apiclient-test-client".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.path().join("client.pem"), client.pem()).unwrap();
    std::fs::write(dir.path().join("client.key"), client_key.serialize_pem()).unwrap();
    std::fs::write(
        dir.path().join("combined.pem"),
        format!("{}{}", client.pem(), client_key.serialize_pem()),
    )
    .unwrap();
    Pki {
        dir,
        ca_der: ca.der().clone(),
        server_chain: vec![server.der().clone()],
        server_key_pem: server_key.serialize_pem(),
    }
}

/// An HTTPS server that answers "client-cert: yes|no".
pub(crate) async fn serve(pki: &Pki) -> String {
    serve_with(pki, false).await
}

/// An HTTPS server (HTTP/1.1) that answers "client-cert: yes|no", and
/// [`BIG`] bytes at `/big`; with `require`, a client without a certificate
/// of the CA is refused in the handshake.
async fn serve_with(pki: &Pki, require: bool) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    );
    let verifier = if require {
        verifier.build().unwrap()
    } else {
        verifier.allow_unauthenticated().build().unwrap()
    };
    let key = PrivateKeyDer::from_pem_slice(pki.server_key_pem.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(pki.server_chain.clone(), key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let presented = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .is_some_and(|c| !c.is_empty());
                let svc = hyper::service::service_fn(move |req: http::Request<_>| async move {
                    let body = if req.uri().path() == "/big" {
                        Bytes::from(vec![7u8; BIG])
                    } else if presented {
                        Bytes::from("client-cert: yes")
                    } else {
                        Bytes::from("client-cert: no")
                    };
                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(body)))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    url
}

/// The size of the big answer of [`serve_with`]'s server.
const BIG: usize = 8 * 1024 * 1024;

#[test]
fn a_large_answer_over_tls_is_read_in_turns_with_the_runtime() {
    // over TLS a read is one 16 KB record: reading 8 MiB spends tokio's
    // budget for one poll long before the end, and the exchange (or the
    // streamed body) that drives its connection must then yield, not spin
    // (in a multi-thread runtime's `block_on`, as here, a socket out of
    // budget wakes its reader at once); the calls run on a thread of their
    // own, so that one that spins fails the test instead of hanging it
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sizes = rt.block_on(async {
            let pki = pki();
            let url = serve(&pki).await;
            let http = HttpClient::builder(Box::new(KeystonePlugin::no_auth(&url)))
                .tls(TlsConfig::default().cacert(pki.dir.path().join("ca.pem")))
                .no_proxy()
                .build()
                .unwrap();
            let svc = http.service_client("svc");
            let mut sizes = Vec::new();
            for _ in 0..2 {
                sizes.push(svc.get("/big").await.unwrap().body().len() as u64);
                let resp = svc
                    .request_streamed(apiclient_http::ApiRequest::get("/big"))
                    .await
                    .unwrap();
                sizes.push(resp.copy_to(&mut tokio::io::sink()).await.unwrap());
            }
            sizes
        });
        let _ = done.send(sizes);
    });
    let sizes = finished
        .recv_timeout(Duration::from_secs(120))
        .expect("the calls ended (none spun)");
    assert_eq!(sizes, vec![BIG as u64; 4]);
}

async fn get(url: &str, tls: TlsConfig) -> Result<String, Error> {
    let http = HttpClient::builder(Box::new(KeystonePlugin::no_auth(url)))
        .tls(tls)
        .retry(RetryPolicy::none())
        .build()?;
    Ok(http.service_client("svc").get("/").await?.text())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_verification_ca_insecure_and_client_certificates() {
    let pki = pki();
    let url = serve(&pki).await;
    let path = |f: &str| pki.dir.path().join(f);

    let err = get(&url, TlsConfig::default()).await.unwrap_err();
    match &err {
        Error::Connection(c) => assert_eq!(c.kind(), ConnectionErrorKind::Tls, "{err:?}"),
        other => panic!("expected a TLS error, got {other:?}"),
    }

    let with_ca = TlsConfig::default().cacert(path("ca.pem"));
    assert_eq!(get(&url, with_ca.clone()).await.unwrap(), "client-cert: no");

    let insecure = TlsConfig::default().insecure(true);
    assert_eq!(get(&url, insecure).await.unwrap(), "client-cert: no");

    let with_cert = with_ca
        .clone()
        .cert(path("client.pem"))
        .key(path("client.key"));
    assert_eq!(get(&url, with_cert).await.unwrap(), "client-cert: yes");
    let combined = with_ca.cert(path("combined.pem"));
    assert_eq!(get(&url, combined).await.unwrap(), "client-cert: yes");
}

#[tokio::test]
async fn bad_tls_files_are_configuration_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.pem"), "not a certificate").unwrap();
    for tls in [
        TlsConfig::default().cacert(dir.path().join("missing.pem")),
        TlsConfig::default().cacert(dir.path().join("junk.pem")),
        TlsConfig::default().cert(dir.path().join("junk.pem")),
    ] {
        let err = HttpClient::builder(Box::new(KeystonePlugin::no_auth("https://x")))
            .tls(tls)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err:?}");
    }
}

/// An HTTPS server offering h2 and http/1.1 by ALPN that answers with the
/// request's HTTP version; it counts the connections it accepts.
async fn serve_h2(pki: &Pki) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::from_pem_slice(pki.server_key_pem.as_bytes()).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.server_chain.clone(), key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(
                    |req: http::Request<hyper::body::Incoming>| async move {
                        let v = format!("{:?}", req.version());
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                            Bytes::from(v),
                        )))
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                .await;
            });
        }
    });
    (url, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_negotiated_by_alpn() {
    let pki = pki();
    let (url, _) = serve_h2(&pki).await;
    let tls = TlsConfig::default().cacert(pki.dir.path().join("ca.pem"));
    assert_eq!(get(&url, tls).await.unwrap(), "HTTP/2.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_http2_connection_serves_concurrent_calls() {
    let pki = pki();
    let (url, accepted) = serve_h2(&pki).await;
    let http = HttpClient::builder(Box::new(KeystonePlugin::no_auth(&url)))
        .tls(TlsConfig::default().cacert(pki.dir.path().join("ca.pem")))
        .no_proxy()
        .build()
        .unwrap();
    let svc = http.service_client("svc");
    assert_eq!(svc.get("/").await.unwrap().text(), "HTTP/2.0");
    let calls: Vec<_> = (0..16)
        .map(|i| {
            let svc = svc.clone();
            tokio::spawn(async move { svc.get(&format!("/{i}")).await.map(|r| r.text()) })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), "HTTP/2.0");
    }
    // a streamed answer too (its connection has a task of its own)
    let mut out = Vec::new();
    svc.request_streamed(apiclient_http::ApiRequest::get("/streamed"))
        .await
        .unwrap()
        .copy_to(&mut out)
        .await
        .unwrap();
    assert_eq!(out, b"HTTP/2.0");
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the calls share the first call's connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_requires_a_client_certificate_gets_one_from_every_source() {
    use apiclient_auth::{AuthArgs, ConfigLoader, PluginRegistry};
    use std::collections::BTreeMap;

    let pki = pki();
    let url = serve_with(&pki, true).await;
    let path = |f: &str| pki.dir.path().join(f).display().to_string();
    let registry = PluginRegistry::default();
    let answer = |cfg: apiclient_auth::ResolvedConfig| {
        let registry = &registry;
        async move {
            let http = apiclient_http::HttpClientBuilder::from_config(&cfg, registry)?
                .retry(RetryPolicy::none())
                .no_proxy()
                .build()?;
            Ok::<_, Error>(http.service_client("svc").get("/").await?.text())
        }
    };
    let env = |pairs: &[(&str, String)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    let base = [
        ("OS_AUTH_TYPE", "none".to_string()),
        ("OS_ENDPOINT", url.clone()),
        ("OS_CACERT", path("ca.pem")),
    ];

    // no certificate: the handshake is refused, nothing is answered
    let cfg = ConfigLoader::new()
        .with_env_map(env(&base))
        .with_search_dirs(vec![])
        .resolve(&BTreeMap::new())
        .unwrap();
    let err = answer(cfg).await.unwrap_err();
    assert!(err.is_connection_error(), "{err:?}");

    // OS_CERT / OS_KEY
    let mut with_env = base.to_vec();
    with_env.push(("OS_CERT", path("client.pem")));
    with_env.push(("OS_KEY", path("client.key")));
    let cfg = ConfigLoader::new()
        .with_env_map(env(&with_env))
        .with_search_dirs(vec![])
        .resolve(&BTreeMap::new())
        .unwrap();
    assert_eq!(answer(cfg).await.unwrap(), "client-cert: yes");

    // --os-cert / --os-key
    let cmd = AuthArgs::augment_args_with(clap::Command::new("tool"), &registry);
    let m = cmd
        .try_get_matches_from([
            "tool".to_string(),
            "--os-cert".to_string(),
            path("client.pem"),
            "--os-key".to_string(),
            path("client.key"),
        ])
        .unwrap();
    let cfg = AuthArgs::from_matches_with(&m, &registry)
        .resolve(
            &ConfigLoader::new()
                .with_env_map(env(&base))
                .with_search_dirs(vec![]),
        )
        .unwrap();
    assert_eq!(answer(cfg).await.unwrap(), "client-cert: yes");

    // clouds.yaml's cert and key (one PEM holding both works too)
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("clouds.yaml"),
        format!(
            "clouds:\n  c:\n    auth_type: none\n    auth:\n      endpoint: {url}\n    cacert: {}\n    cert: {}\n",
            path("ca.pem"),
            path("combined.pem"),
        ),
    )
    .unwrap();
    let cfg = ConfigLoader::new()
        .with_env_map(env(&[("OS_CLOUD", "c".to_string())]))
        .with_search_dirs(vec![dir.path().to_path_buf()])
        .resolve(&BTreeMap::new())
        .unwrap();
    assert_eq!(answer(cfg).await.unwrap(), "client-cert: yes");
}
