//! Group commit: every write of the server goes through one thread that owns the only
//! writing connection, and commits the writes that queued up meanwhile together.
//!
//! SQLite lets one transaction write at a time, and a durable commit costs a disk flush
//! (`synchronous=FULL`). Committing writes one by one would cap the server at one write
//! per flush, whatever the number of cores. Here each batch is one transaction with one
//! flush: each write runs inside its own savepoint, so a write that fails (a taken
//! email, the last admin) is rolled back alone and the others still commit, and no write
//! is answered before the commit that holds it returned. A failed commit fails every
//! write of its batch, none of which was acknowledged.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::StoreError;

/// The most writes one transaction holds, so that a flood of writes still gets its
/// first answers after a bounded wait.
const MAX_BATCH: usize = 256;

pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

/// One write waiting in the queue.
trait Job: Send {
    /// Makes the write on the writer's connection; says whether it succeeded.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch's fate is known: the write's own outcome when
    /// the batch committed, else the reason it did not.
    fn answer(self: Box<Self>, commit: Result<(), String>);
}

struct Pending<F, T, E> {
    work: Option<F>,
    result: Option<Result<T, E>>,
    caller: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for Pending<F, T, E>
where
    F: FnOnce(&Connection) -> Result<T, E> + Send,
    T: Send,
    E: From<StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let work = self.work.take().expect("a write runs once");
        let result = work(conn);
        let succeeded = result.is_ok();
        self.result = Some(result);
        succeeded
    }

    fn answer(self: Box<Self>, commit: Result<(), String>) {
        let result = match (self.result, commit) {
            // A write that failed on its own says why, whatever became of the batch.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)), Err(reason)) => Err(E::from(StoreError::Database(reason))),
            (None, _) => Err(E::from(StoreError::Database(
                "the write failed and was rolled back".into(),
            ))),
        };
        // A caller that went away (its client hung up) needs no answer.
        let _ = self.caller.send(result);
    }
}

impl Writer {
    /// Starts the writer thread on `conn`. The thread ends when the writer is dropped.
    pub(crate) fn start(conn: Connection) -> Result<Writer, StoreError> {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new()
            .name("roster-sqlite-writer".into())
            .spawn(move || write_batches(&conn, &queue))
            .map_err(|e| StoreError::Database(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Runs `work` in the next batch and answers once that batch is durable.
    pub(crate) async fn write<T, E>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (caller, answered) = oneshot::channel();
        let job = Pending {
            work: Some(work),
            result: None,
            caller,
        };
        let stopped = || E::from(StoreError::Database("the database writer stopped".into()));
        self.jobs.send(Box::new(job)).map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

fn write_batches(conn: &Connection, queue: &mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        write_batch(conn, batch);
    }
}

fn write_batch(conn: &Connection, mut batch: Vec<Box<dyn Job>>) {
    if let Err(e) = execute(conn, "BEGIN IMMEDIATE") {
        let reason = format!("cannot start a write: {e}");
        for job in batch {
            job.answer(Err(reason.clone()));
        }
        return;
    }

    for job in &mut batch {
        run_in_savepoint(conn, job.as_mut());
    }

    let commit = execute(conn, "COMMIT").map_err(|e| {
        let _ = execute(conn, "ROLLBACK");
        tracing::error!(error = %e, "a batch of writes failed to commit");
        format!("the write was not saved: {e}")
    });
    for job in batch {
        job.answer(commit.clone());
    }
}

/// Runs one job in a savepoint of the open transaction: kept if it succeeded, undone
/// if it failed or panicked.
fn run_in_savepoint(conn: &Connection, job: &mut dyn Job) {
    // An I/O error or a full disk can make SQLite roll back the whole transaction.
    // The jobs after it must not run outside one, where each statement would commit
    // on its own; unrun, they are answered as failed, and so is the batch's commit.
    if conn.is_autocommit() {
        return;
    }
    if let Err(e) = execute(conn, "SAVEPOINT job") {
        tracing::error!(error = %e, "cannot open a savepoint; the write is skipped");
        return;
    }
    let kept = match catch_unwind(AssertUnwindSafe(|| job.run(conn))) {
        Ok(succeeded) => succeeded,
        Err(_) => {
            tracing::error!("a write panicked and was rolled back");
            false
        }
    };
    let undone = if kept {
        Ok(())
    } else {
        execute(conn, "ROLLBACK TO job")
    };
    if let Err(e) = undone.and_then(|()| execute(conn, "RELEASE job")) {
        tracing::error!(error = %e, "cannot close a savepoint");
    }
}

/// Runs a statement of the writer's own from the statement cache: they run for every
/// write, and parsing them each time cost more than running them.
fn execute(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (Writer, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER NOT NULL)")
            .unwrap();
        (Writer::start(conn).unwrap(), dir)
    }

    async fn count(writer: &Writer) -> i64 {
        writer
            .write(|conn| {
                conn.query_row("SELECT count(*) FROM t", [], |row| row.get(0))
                    .map_err(|e| StoreError::Database(e.to_string()))
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_failing_write_is_undone_alone_and_the_others_of_its_batch_are_kept() {
        let (writer, _dir) = writer();
        let writes = (0..40).map(|n| {
            writer.write(move |conn| {
                conn.execute("INSERT INTO t (n) VALUES (?1)", [n])
                    .map_err(|e| StoreError::Database(e.to_string()))?;
                if n % 2 == 1 {
                    return Err(StoreError::Invalid(format!("odd {n}")));
                }
                Ok(n)
            })
        });

        let answers = futures::future::join_all(writes).await;

        for (n, answer) in answers.into_iter().enumerate() {
            match answer {
                Ok(got) => assert_eq!((got, n % 2), (n as i64, 0)),
                Err(e) => assert_eq!(e, StoreError::Invalid(format!("odd {n}"))),
            }
        }
        assert_eq!(count(&writer).await, 20);
    }

    #[tokio::test]
    async fn a_write_that_panics_is_rolled_back_and_the_writer_goes_on() {
        let (writer, _dir) = writer();

        let panicked = writer
            .write(|conn| -> Result<(), StoreError> {
                conn.execute("INSERT INTO t (n) VALUES (1)", []).unwrap();
                panic!("a bug in a write");
            })
            .await;
        let after = writer
            .write(|conn| {
                conn.execute("INSERT INTO t (n) VALUES (2)", [])
                    .map_err(|e| StoreError::Database(e.to_string()))
            })
            .await;

        assert!(matches!(panicked, Err(StoreError::Database(_))));
        assert_eq!(after, Ok(1));
        assert_eq!(count(&writer).await, 1);
    }
}
