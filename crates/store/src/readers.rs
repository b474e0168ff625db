//! SQLite's read connections, kept apart from sqlx's pool. The pool tests every
//! connection it takes back with a ping, a round trip to the connection's
//! thread: on a PAT-authenticated read that was a third of the hand-offs
//! between threads, which is where such a request spends most of its time.
//! These connections are only ever read from, outside transactions, so one
//! that comes back needs no test.

use crate::Result;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
pub struct Readers {
    idle: Mutex<Vec<AnyConnection>>,
    free: Arc<Semaphore>,
}

impl Readers {
    /// Takes every connection the read pool may open out of it.
    pub(crate) async fn take(pool: &AnyPool) -> Result<Readers> {
        let count = pool.options().get_max_connections();
        let mut idle = Vec::new();
        for _ in 0..count {
            idle.push(pool.acquire().await?.detach());
        }
        Ok(Readers {
            free: Arc::new(Semaphore::new(idle.len())),
            idle: Mutex::new(idle),
        })
    }

    pub(crate) async fn acquire(self: &Arc<Self>) -> Result<ReadConn> {
        let permit = self
            .free
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let conn = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
            .ok_or(sqlx::Error::PoolClosed)?;
        Ok(ReadConn::Own(Borrowed {
            conn: Some(conn),
            readers: self.clone(),
            _permit: permit,
        }))
    }
}

/// A read connection: one of SQLite's own, or from the pool (PostgreSQL).
pub enum ReadConn {
    Own(Borrowed),
    Pooled(PoolConnection<Any>),
}

pub struct Borrowed {
    conn: Option<AnyConnection>,
    readers: Arc<Readers>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Borrowed {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(conn);
        }
    }
}

impl Deref for ReadConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            ReadConn::Pooled(conn) => conn,
            ReadConn::Own(borrowed) => borrowed.conn.as_ref().expect("held until dropped"),
        }
    }
}

impl DerefMut for ReadConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            ReadConn::Pooled(conn) => conn,
            ReadConn::Own(borrowed) => borrowed.conn.as_mut().expect("held until dropped"),
        }
    }
}
