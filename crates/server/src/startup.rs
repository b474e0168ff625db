//! Starting Muster: open and migrate the database, offer the first-run setup
//! link, serve HTTP and run the worker until a shutdown signal.

use crate::config::Settings;
use crate::http;
use crate::jobs::worker::Worker;
use crate::jobs::JobKind;
use crate::jobs::Registry;
use crate::mail::job::SendMail;
use crate::mail::Transport;
use crate::state::AppState;
use anyhow::Context;
use muster_domain::{secret, Clock};
use muster_store::{orgs, setup, Store};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Opens the configured database (creating the data directory and SQLite file
/// if needed) and brings its schema up to date.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    open(settings, false).await
}

/// Like [`open_store`], for a CLI command that may run beside a server: on
/// SQLite the server makes room for its writes.
pub async fn open_store_as_guest(settings: &Settings) -> anyhow::Result<Store> {
    open(settings, true).await
}

async fn open(settings: &Settings, guest: bool) -> anyhow::Result<Store> {
    if settings.database_url.is_none() {
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                settings.data_dir.display()
            )
        })?;
    }
    let url = settings.database_url();
    let store = if guest {
        Store::connect_as_guest(&url, settings.db_max_connections).await
    } else {
        Store::connect(&url, settings.db_max_connections).await
    }
    .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

/// While no organization exists, creates a one-time setup link and returns it.
pub async fn setup_link(state: &AppState) -> anyhow::Result<Option<String>> {
    let mut tx = state.store.begin().await?;
    if orgs::any_exists(&mut tx).await? {
        return Ok(None);
    }
    let token = secret::generate(&mut rand::rngs::OsRng);
    setup::insert(&mut tx, &secret::hash(&token), state.now()).await?;
    tx.commit().await?;
    Ok(Some(format!(
        "{}/setup/{token}",
        state.settings.public_url()
    )))
}

/// A running server, for `serve` and for tests.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    worker: Option<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, lets the worker finish
    /// its current job, then returns.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.server.await.context("the server task failed")??;
        if let Some(worker) = self.worker {
            worker.await.context("the worker task failed")?;
        }
        // The API calls counted since the worker's last write, now that no
        // request is left to count more.
        if let Err(error) =
            crate::features::usage::api_calls::flush(self.state.clone(), self.state.now()).await
        {
            tracing::warn!(
                error = format!("{error:#}"),
                "the last API call counts were not written"
            );
        }
        self.state.store.close().await;
        Ok(())
    }

    /// Resolves when the server stops by itself (it should not).
    pub fn shutdown_sender(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Serves on `listener` with `store`; `with_worker` also starts the job worker.
pub async fn start(
    settings: Settings,
    store: Store,
    clock: Arc<dyn Clock>,
    listener: TcpListener,
    with_worker: bool,
) -> anyhow::Result<Running> {
    crate::http::ui::templates::get().context("the page templates do not compile")?;
    let addr = listener.local_addr()?;
    let state = AppState::new(store, settings, clock)?;
    let (shutdown, mut on_shutdown) = watch::channel(false);
    let app = http::app(state.clone());
    let limits = http::serve::Limits::new(
        state.settings.header_timeout,
        state.settings.body_timeout,
        state.settings.idle_timeout,
        state.settings.max_connections,
    );
    let mut server_shutdown = on_shutdown.clone();
    let hub = state.hub.clone();
    let server = tokio::spawn(http::serve::serve(listener, app, limits, async move {
        let _ = server_shutdown.wait_for(|stop| *stop).await;
        // Event streams never end by themselves: end them, so the
        // requests drain.
        hub.close();
    }));
    if state.store.backend().has_notify() {
        tokio::spawn(crate::features::notifications::hub::listen(
            state.clone(),
            on_shutdown.clone(),
        ));
    }
    let worker = if with_worker {
        let worker = worker(state.clone()).map_err(anyhow::Error::msg)?;
        Some(tokio::spawn(worker.run(on_shutdown.clone())))
    } else {
        None
    };
    on_shutdown.mark_unchanged();
    Ok(Running {
        addr,
        state,
        shutdown,
        server,
        worker,
    })
}

/// The background worker with every feature's job kinds, and mail through the
/// transport the settings name.
pub fn worker(state: AppState) -> Result<Worker, String> {
    let transport = state.settings.mail_transport()?;
    // Files in the outbox are named by job, so writing one again replaces it.
    let concurrency = match transport {
        Transport::Outbox { .. } => SendMail::CONCURRENCY,
        Transport::Smtp { .. } => state.settings.smtp_concurrency,
    };
    let registry = Registry::default()
        .kind(move |state: AppState, job_id, job: SendMail| {
            let transport = transport.clone();
            async move { crate::mail::job::run(&transport, &state.key, job_id, job).await }
        })
        .concurrency(SendMail::KIND, concurrency);
    Ok(Worker::new(state, crate::features::jobs(registry)))
}

/// `muster serve`: runs until SIGINT or SIGTERM.
pub async fn serve(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<()> {
    let store = open_store(&settings).await?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {} (MUSTER_LISTEN)", settings.listen))?;
    let running = start(settings, store, clock, listener, true).await?;
    // The VAPID keys exist from the first start, for every instance to share.
    running
        .state
        .push
        .vapid(&running.state.store, running.state.now())
        .await
        .context("cannot read or create the Web Push (VAPID) keys")?;
    let backend = running.state.store.backend();
    tracing::info!(addr = %running.addr, ?backend, "Muster is serving");
    println!("Muster is listening on http://{}", running.addr);
    if let Some(link) = setup_link(&running.state).await? {
        println!();
        println!("No organization exists yet. Open this one-time link to set up the first one:");
        println!();
        println!("    {link}");
        println!();
    }
    wait_for_signal().await;
    tracing::info!("shutting down: finishing requests and the current job");
    running.shutdown().await
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
