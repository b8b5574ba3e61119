//! Group commit. Durable writes that arrive together — the audit entry of every read, the
//! appends of every command — share one transaction and one commit (one fsync for many
//! requests) on the write connection. One task takes every job waiting, runs each under its own
//! savepoint, so a refused job (a version conflict, an idempotency key seen before) rolls back
//! only its own rows, then commits the round and answers each job. Fail-closed: a caller hears
//! "done" only after the commit that holds its rows; a failed commit fails every job of the round,
//! and none of them was written.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};

use crate::audit::AuditEntry;
use crate::types::{AppendBatch, StoreError};

/// At most this many jobs share a round, so one round's transaction stays short.
const ROUND: usize = 64;

/// A durable write that may share its commit.
pub(crate) enum Job {
    Audit(Vec<AuditEntry>),
    Append(AppendBatch),
}

/// What a job made.
pub(crate) enum Done {
    Audit,
    Append(Vec<u64>),
}

type Reply = oneshot::Sender<Result<Done, StoreError>>;

/// How the committing task has done since the store opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCommit {
    /// Jobs handed to the task.
    pub submitted: u64,
    /// Jobs the task has taken into a round.
    pub taken: u64,
    /// Rounds run (each one transaction and, unless it failed, one commit).
    pub rounds: u64,
}

#[derive(Default)]
struct Counters {
    submitted: AtomicU64,
    taken: AtomicU64,
    rounds: AtomicU64,
}

/// The way to the committing task; `None` inside the task itself.
#[derive(Clone, Default)]
pub(crate) struct Queue {
    jobs: Option<mpsc::UnboundedSender<(Job, Reply)>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Queue")
    }
}

impl Queue {
    /// Starts the committing task. `round` runs jobs in one transaction and commits it: `Err`
    /// when the transaction as a whole failed, else each job's own answer, in order.
    pub(crate) fn spawn<F, Fut>(round: F) -> Queue
    where
        F: Fn(Vec<Job>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<Result<Done, StoreError>>, StoreError>> + Send,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<(Job, Reply)>();
        let counters = Arc::new(Counters::default());
        let seen = counters.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut waiting = vec![first];
                while waiting.len() < ROUND {
                    match rx.try_recv() {
                        Ok(next) => waiting.push(next),
                        Err(_) => break,
                    }
                }
                seen.taken.fetch_add(waiting.len() as u64, Ordering::SeqCst);
                let (jobs, replies): (Vec<Job>, Vec<Reply>) = waiting.into_iter().unzip();
                let answers = round(jobs).await;
                seen.rounds.fetch_add(1, Ordering::SeqCst);
                match answers {
                    Ok(answers) => {
                        for (reply, answer) in replies.into_iter().zip(answers) {
                            let _ = reply.send(answer);
                        }
                    }
                    Err(e) => {
                        let said = e.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(StoreError::Unavailable(said.clone())));
                        }
                    }
                }
            }
        });
        Queue {
            jobs: Some(tx),
            counters,
        }
    }

    pub(crate) fn figures(&self) -> GroupCommit {
        let c = &self.counters;
        GroupCommit {
            submitted: c.submitted.load(Ordering::SeqCst),
            taken: c.taken.load(Ordering::SeqCst),
            rounds: c.rounds.load(Ordering::SeqCst),
        }
    }

    /// Hands the job to the committing task and waits for the commit that holds it.
    pub(crate) async fn submit(&self, job: Job) -> Result<Done, StoreError> {
        let Some(tx) = &self.jobs else {
            return Err(StoreError::Config(
                "group commit: no committing task".into(),
            ));
        };
        let (reply, answer) = oneshot::channel();
        self.counters.submitted.fetch_add(1, Ordering::SeqCst);
        tx.send((job, reply))
            .map_err(|_| StoreError::Unavailable("the committing task has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the committing task has stopped".into()))?
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn audit(action: &str) -> Job {
        Job::Audit(vec![AuditEntry::new(action)])
    }

    /// Waits (never a fixed sleep) until the queue has seen `n` jobs submitted, or taken.
    async fn until(queue: &Queue, n: u64, taken: bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while if taken {
            queue.figures().taken
        } else {
            queue.figures().submitted
        } < n
        {
            assert!(std::time::Instant::now() < deadline, "jobs never arrived");
            tokio::task::yield_now().await;
        }
    }

    /// Jobs that arrive while a round is committing wait and share the next round; each hears
    /// its own answer (a refused one does not refuse the others); a round that fails as a whole
    /// fails every job in it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_that_arrive_during_a_commit_share_the_next_one() {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (g, seen) = (gate.clone(), sizes.clone());
        let queue = Queue::spawn(move |jobs: Vec<Job>| {
            let (g, seen) = (g.clone(), seen.clone());
            async move {
                g.acquire().await.unwrap().forget();
                seen.lock().unwrap().push(jobs.len());
                let actions: Vec<String> = jobs
                    .iter()
                    .map(|j| match j {
                        Job::Audit(e) => e[0].action.clone(),
                        Job::Append(_) => String::new(),
                    })
                    .collect();
                if actions.iter().any(|a| a == "fail-the-round") {
                    return Err(StoreError::Unavailable("the commit failed".into()));
                }
                Ok(actions
                    .iter()
                    .map(|a| {
                        if a == "refuse" {
                            Err(StoreError::Conflict {
                                expected: 1,
                                actual: 2,
                            })
                        } else {
                            Ok(Done::Audit)
                        }
                    })
                    .collect())
            }
        });
        // The first job opens a round, which waits at the gate ...
        let first = tokio::spawn({
            let q = queue.clone();
            async move { q.submit(audit("first")).await }
        });
        until(&queue, 1, true).await;
        // ... while five more arrive.
        let mut rest = Vec::new();
        for action in ["a", "refuse", "b", "c", "d"] {
            let q = queue.clone();
            rest.push(tokio::spawn(async move { q.submit(audit(action)).await }));
        }
        until(&queue, 6, false).await;
        gate.add_permits(2);
        assert!(first.await.unwrap().is_ok());
        let answers: Vec<_> = futures_join(rest).await;
        assert!(matches!(answers[1], Err(StoreError::Conflict { .. })));
        for i in [0, 2, 3, 4] {
            assert!(answers[i].is_ok(), "job {i} was refused with the other");
        }
        assert_eq!(
            *sizes.lock().unwrap(),
            vec![1, 5],
            "the five shared one round"
        );
        assert_eq!(queue.figures().rounds, 2);

        // A round that fails fails everyone in it.
        let mut doomed = Vec::new();
        let q = queue.clone();
        doomed.push(tokio::spawn(async move { q.submit(audit("x")).await }));
        until(&queue, 7, true).await;
        let q = queue.clone();
        doomed.push(tokio::spawn(async move {
            q.submit(audit("fail-the-round")).await
        }));
        until(&queue, 8, false).await;
        gate.add_permits(2);
        let answers = futures_join(doomed).await;
        assert!(answers[0].is_ok(), "the round before was not touched");
        assert!(matches!(answers[1], Err(StoreError::Unavailable(_))));
        assert_eq!(queue.figures().taken, 8);
    }

    async fn futures_join(
        handles: Vec<tokio::task::JoinHandle<Result<Done, StoreError>>>,
    ) -> Vec<Result<Done, StoreError>> {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }
}
