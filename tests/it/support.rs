//! Shared helpers.

use std::io::Write;
use std::sync::{Arc, Mutex};

use apiclient_auth::KeystonePlugin;
use apiclient_fake::FakeCloud;
use apiclient_http::{HttpClient, HttpClientBuilder};

pub fn demo_plugin(cloud: &FakeCloud) -> KeystonePlugin {
    KeystonePlugin::new("password")
        .unwrap()
        .with("auth_url", cloud.auth_url())
        .with("username", "demo")
        .with("password", "demopass")
        .with("project_name", "demo")
}

pub fn builder(cloud: &FakeCloud) -> HttpClientBuilder {
    HttpClient::builder(Box::new(demo_plugin(cloud)))
}

/// A tracing writer that captures everything into a buffer.
#[derive(Clone, Default)]
pub struct Capture(pub Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Run `f` on a current-thread runtime with every tracing event at TRACE captured.
pub fn with_captured_trace<F: std::future::Future>(f: impl FnOnce() -> F) -> (F::Output, String) {
    let cap = Capture::default();
    let sub = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(cap.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(sub);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = rt.block_on(f());
    (out, cap.text())
}
