//! The accept loop: HTTP/1 and HTTP/2 connections with a header-read timeout, and a shutdown
//! that stops accepting, lets requests in flight finish within a bound, then returns.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tower::Service;

/// How long freshly accepted connections get to send their request after the stop signal.
const SETTLE: Duration = Duration::from_millis(300);

/// Bounds of the connection layer, from `settings.resilience`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A client must have sent its request headers within this (slow-header attacks).
    pub header_read_timeout: Duration,
    /// After the stop signal, requests in flight get this long.
    pub shutdown_grace: Duration,
}

/// Serves `router` on `listener` until `stop` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    stop: impl Future<Output = ()>,
    limits: ConnectionLimits,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::pin!(stop);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        spawn_connection(&builder, &graceful, &mut make_service, stream, remote).await;
    }
    // Connections the kernel completed but the loop had not yet taken would be reset when the
    // listener closes, with their request already sent. Take every one still queued, asking
    // the socket itself (the reactor's readiness may lag behind it), then close.
    match listener.into_std() {
        Ok(listener) => {
            while let Ok((stream, remote)) = listener.accept() {
                match stream
                    .set_nonblocking(true)
                    .and_then(|()| tokio::net::TcpStream::from_std(stream))
                {
                    Ok(stream) => {
                        spawn_connection(&builder, &graceful, &mut make_service, stream, remote)
                            .await;
                    }
                    Err(e) => tracing::warn!(error = %e, "a queued connection was lost"),
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not take the queued connections"),
    }
    tracing::info!(grace = ?limits.shutdown_grace, "stopped accepting; draining requests in flight");
    // A connection accepted just before the listener closed may not have sent its request
    // yet; told to shut down now, hyper would close it unread. Give such requests a moment to
    // arrive (they are then in flight and finish), within the grace.
    tokio::time::sleep(SETTLE.min(limits.shutdown_grace)).await;
    match tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await {
        Ok(()) => tracing::info!("every request in flight finished"),
        Err(_) => tracing::warn!("shutdown grace elapsed with requests still in flight"),
    }
}

async fn spawn_connection(
    builder: &Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
    make_service: &mut IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
    stream: TcpStream,
    remote: SocketAddr,
) {
    let _ = stream.set_nodelay(true);
    let service = match make_service.call(remote).await {
        Ok(s) => s,
        Err(never) => match never {},
    };
    let connection = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
        .into_owned();
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "connection closed with an error");
        }
    });
}
