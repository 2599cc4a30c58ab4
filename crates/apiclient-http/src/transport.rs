//! The innermost service: hyper-util's pooled client over rustls, with a
//! total request timeout and a response-size limit; bodies buffered as `Bytes`.

use std::error::Error as StdError;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use apiclient_errors::{BoxError, ConnectionError, ConnectionErrorKind, Error};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::layers::BoxFuture;

/// TLS settings.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    /// Extra CA certificates (PEM file), trusted besides the web PKI roots.
    pub cacert: Option<std::path::PathBuf>,
    /// A client certificate chain (PEM file).
    pub cert: Option<std::path::PathBuf>,
    /// The client certificate's key (PEM file); defaults to `cert` (a combined PEM).
    pub key: Option<std::path::PathBuf>,
    /// Do not verify server certificates (`--insecure`).
    pub insecure: bool,
}

/// Transport settings.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// TLS.
    pub tls: TlsConfig,
    /// Time allowed to establish a TCP connection (default 10 s).
    pub connect_timeout: Duration,
    /// Time allowed for one attempt, from sending to the last body byte (default 60 s).
    pub timeout: Duration,
    /// The largest response body accepted (default 64 MiB).
    pub max_response_bytes: usize,
    /// Idle pooled connections are closed after this (default 90 s).
    pub pool_idle_timeout: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            tls: TlsConfig::default(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            max_response_bytes: 64 * 1024 * 1024,
            pool_idle_timeout: Duration::from_secs(90),
        }
    }
}

/// The innermost tower service: sends a request, buffers the response.
///
/// Errors are [`apiclient_errors::Error`]s (boxed): a typed
/// [`ConnectionError`], or [`Error::ResponseTooLarge`].
#[derive(Clone)]
pub struct HyperTransport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    max_response_bytes: usize,
}

impl std::fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperTransport")
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

fn config_error(message: String, source: impl StdError + Send + Sync + 'static) -> Error {
    Error::Config {
        message,
        source: Some(Box::new(source)),
    }
}

fn read_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| {
            config_error(
                format!("cannot read certificates from {}", path.display()),
                e,
            )
        })?
        .collect();
    let certs = certs.map_err(|e| config_error(format!("invalid PEM in {}", path.display()), e))?;
    if certs.is_empty() {
        return Err(Error::config(format!(
            "no certificate found in {}",
            path.display()
        )));
    }
    Ok(certs)
}

/// Build the rustls client configuration.
pub fn rustls_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error("TLS protocol versions".into(), e))?;
    let builder = if tls.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(ca) = &tls.cacert {
            for cert in read_certs(ca)? {
                roots.add(cert).map_err(|e| {
                    config_error(format!("invalid CA certificate in {}", ca.display()), e)
                })?;
            }
        }
        builder.with_root_certificates(roots)
    };
    // ALPN (h2, http/1.1) is set by hyper-rustls from the enabled protocols.
    let config = match &tls.cert {
        Some(cert) => {
            let chain = read_certs(cert)?;
            let key_path = tls.key.as_ref().unwrap_or(cert);
            let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
                config_error(
                    format!("cannot read a private key from {}", key_path.display()),
                    e,
                )
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| config_error("client certificate and key do not match".into(), e))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(config)
}

#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl HyperTransport {
    /// A transport with these settings.
    pub fn new(config: &TransportConfig) -> Result<Self, Error> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(rustls_config(&config.tls)?)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        // The timers make the idle timeout real: without one, hyper-util's pool
        // never closes an idle connection.
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .timer(hyper_util::rt::TokioTimer::new())
            .build(https);
        Ok(HyperTransport {
            client,
            timeout: config.timeout,
            max_response_bytes: config.max_response_bytes,
        })
    }
}

/// Classify a transport failure by walking its cause chain (and into the
/// error an `io::Error` wraps, which `source()` skips).
pub(crate) fn classify(err: &(dyn StdError + 'static), connect: bool) -> ConnectionErrorKind {
    find_kind(err, connect, 0).unwrap_or(if connect {
        ConnectionErrorKind::Other
    } else {
        ConnectionErrorKind::Closed
    })
}

fn find_kind(
    e: &(dyn StdError + 'static),
    connect: bool,
    depth: usize,
) -> Option<ConnectionErrorKind> {
    if depth > 16 {
        return None;
    }
    if e.downcast_ref::<rustls::Error>().is_some() {
        return Some(ConnectionErrorKind::Tls);
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        if let Some(inner) = io.get_ref()
            && let Some(kind) = find_kind(inner, connect, depth + 1)
        {
            return Some(kind);
        }
        use std::io::ErrorKind as K;
        match io.kind() {
            K::ConnectionRefused => return Some(ConnectionErrorKind::Refused),
            K::TimedOut => return Some(ConnectionErrorKind::ConnectTimeout),
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                return Some(ConnectionErrorKind::Closed);
            }
            _ => {}
        }
    }
    if let Some(h) = e.downcast_ref::<hyper::Error>() {
        if h.is_parse_too_large() {
            return Some(ConnectionErrorKind::HeadTooLarge);
        }
        if h.is_parse() || h.is_parse_status() {
            return Some(ConnectionErrorKind::Malformed);
        }
        if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
            return Some(ConnectionErrorKind::Closed);
        }
    }
    let text = e.to_string();
    if text.contains("dns error") || text.contains("failed to lookup") {
        return Some(ConnectionErrorKind::Dns);
    }
    if connect && (text.contains("connect timeout") || text.contains("timed out")) {
        return Some(ConnectionErrorKind::ConnectTimeout);
    }
    e.source().and_then(|s| find_kind(s, connect, depth + 1))
}

/// Whether a boxed stack error is a connect-phase failure (nothing was sent).
pub fn is_connect_error(err: &BoxError) -> bool {
    match err.downcast_ref::<Error>() {
        Some(Error::Connection(c)) => matches!(
            c.kind(),
            ConnectionErrorKind::Refused
                | ConnectionErrorKind::ConnectTimeout
                | ConnectionErrorKind::Dns
        ),
        _ => false,
    }
}

impl tower::Service<Request<Bytes>> for HyperTransport {
    type Response = Response<Bytes>;
    type Error = BoxError;
    type Future = BoxFuture<Result<Response<Bytes>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        let client = self.client.clone();
        let limit = self.max_response_bytes;
        let timeout = self.timeout;
        Box::pin(async move {
            let url = req.uri().to_string();
            let (parts, body) = req.into_parts();
            let req = Request::from_parts(parts, Full::new(body));
            let attempt = async {
                let resp = client.request(req).await.map_err(|e| {
                    let kind = classify(&e, e.is_connect());
                    Error::from(ConnectionError::new(kind, url.clone(), Some(Box::new(e))))
                })?;
                let (parts, body) = resp.into_parts();
                let bytes = Limited::new(body, limit).collect().await.map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        Error::ResponseTooLarge {
                            limit: limit as u64,
                            url: url.clone(),
                        }
                    } else {
                        let kind = classify(&*e, false);
                        Error::from(ConnectionError::new(kind, url.clone(), Some(e)))
                    }
                })?;
                Ok::<_, Error>(Response::from_parts(parts, bytes.to_bytes()))
            };
            match tokio::time::timeout(timeout, attempt).await {
                Ok(Ok(resp)) => Ok(resp),
                Ok(Err(e)) => Err(Box::new(e) as BoxError),
                Err(elapsed) => Err(Box::new(Error::from(ConnectionError::new(
                    ConnectionErrorKind::Timeout,
                    url,
                    Some(Box::new(elapsed)),
                ))) as BoxError),
            }
        })
    }
}
