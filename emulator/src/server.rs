//! The emulator served over HTTP, or HTTPS with a generated certificate (feature `server`).

use crate::{Org, app};
use std::net::SocketAddr;
use std::sync::Arc;

/// A running emulator.
#[derive(Debug)]
pub struct Emulator {
    /// The org.
    pub org: Arc<Org>,
    /// `http://127.0.0.1:<port>`, or `https://127.0.0.1:<port>` when serving TLS.
    pub base_url: String,
    /// With TLS: the generated self-signed certificate (PEM) clients must trust.
    pub certificate_pem: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    tls: Option<axum_server::Handle<SocketAddr>>,
}

impl Emulator {
    /// Serves `org` on 127.0.0.1 at an ephemeral port.
    pub async fn start(org: Org) -> anyhow::Result<Emulator> {
        Self::start_on(org, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves `org` on `addr`.
    pub async fn start_on(org: Org, addr: SocketAddr) -> anyhow::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let org = Arc::new(org);
        let router = app(org.clone(), base_url.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Emulator { org, base_url, certificate_pem: None, shutdown: Some(tx), tls: None })
    }

    /// Serves `org` over https on `addr` with a freshly generated self-signed certificate for
    /// `127.0.0.1` and `localhost` (see [`Emulator::certificate_pem`]).
    pub async fn start_tls_on(org: Org, addr: SocketAddr) -> anyhow::Result<Emulator> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        let cert_pem = certified.cert.pem();
        let key_pem = certified.signing_key.serialize_pem();
        let config =
            axum_server::tls_rustls::RustlsConfig::from_pem(cert_pem.clone().into_bytes(), key_pem.into_bytes())
                .await?;
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let base_url = format!("https://127.0.0.1:{}", listener.local_addr()?.port());
        let org = Arc::new(org);
        let router = app(org.clone(), base_url.clone());
        let handle = axum_server::Handle::new();
        let server = axum_server::tls_rustls::from_tcp_rustls(listener, config)?.handle(handle.clone());
        tokio::spawn(async move {
            let _ = server.serve(router.into_make_service()).await;
        });
        Ok(Emulator { org, base_url, certificate_pem: Some(cert_pem), shutdown: None, tls: Some(handle) })
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.tls.take() {
            handle.shutdown();
        }
    }
}
