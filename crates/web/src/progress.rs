//! The import's progress for the page that waits on it: the page's script chooses a token,
//! sends it with the form, and asks `/import/progress?token=…` while the server checks and
//! writes the rows. Kept in memory per user and token (another user's token tells nothing),
//! for a while after the request ends; without the script nothing is tracked and the page
//! simply waits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use tsunagu_core::UserId;

/// How long a finished import's progress can still be read.
const KEPT: Duration = Duration::from_secs(10 * 60);
/// The most imports tracked at once (the oldest go first).
const MOST: usize = 1_000;

/// How far an import is.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Progress {
    /// Rows checked so far, of `total`.
    pub done: u64,
    pub total: u64,
    /// The rows are checked and being written.
    pub writing: bool,
    /// The request has ended (its page is on its way).
    pub finished: bool,
}

#[derive(Default)]
pub struct ProgressBoard {
    entries: Mutex<HashMap<(UserId, String), (Progress, Instant)>>,
}

impl std::fmt::Debug for ProgressBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressBoard")
    }
}

/// A token the page may choose: 16 to 64 letters, digits, `-` or `_`.
fn token_ok(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl ProgressBoard {
    /// Tracks one request's progress under `token` (None when the token is not one the page
    /// may choose); the progress is finished when the tracker is dropped.
    pub fn track(&self, user: UserId, token: &str) -> Option<Tracker<'_>> {
        if !token_ok(token) {
            return None;
        }
        let key = (user, token.to_owned());
        let mut entries = self.entries.lock().ok()?;
        let now = Instant::now();
        entries.retain(|_, (_, at)| now.duration_since(*at) < KEPT);
        while entries.len() >= MOST {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())?;
            entries.remove(&oldest);
        }
        entries.insert(key.clone(), (Progress::default(), now));
        Some(Tracker { board: self, key })
    }

    /// The progress under `token` for `user`, if any.
    pub fn read(&self, user: UserId, token: &str) -> Option<Progress> {
        let entries = self.entries.lock().ok()?;
        entries.get(&(user, token.to_owned())).map(|(p, _)| *p)
    }

    fn update(&self, key: &(UserId, String), f: impl FnOnce(&mut Progress)) {
        if let Ok(mut entries) = self.entries.lock()
            && let Some((p, at)) = entries.get_mut(key)
        {
            f(p);
            *at = Instant::now();
        }
    }
}

/// One request's progress, reported by the import as it goes.
pub struct Tracker<'a> {
    board: &'a ProgressBoard,
    key: (UserId, String),
}

impl tsunagu_app::import::Progress for Tracker<'_> {
    fn rows(&self, done: u64, total: u64) {
        self.board.update(&self.key, |p| {
            p.done = done;
            p.total = total;
        });
    }

    fn writing(&self) {
        self.board.update(&self.key, |p| p.writing = true);
    }
}

impl Drop for Tracker<'_> {
    fn drop(&mut self) {
        self.board.update(&self.key, |p| p.finished = true);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tsunagu_app::import::Progress as _;

    #[test]
    fn a_tracked_import_is_read_by_its_user_only_and_ends_finished() {
        let board = ProgressBoard::default();
        let (me, other) = (UserId(uuid::Uuid::now_v7()), UserId(uuid::Uuid::now_v7()));
        let token = "abcdefgh12345678";
        assert!(board.track(me, "short").is_none());
        {
            let t = board.track(me, token).unwrap();
            t.rows(3, 10);
            let p = board.read(me, token).unwrap();
            assert_eq!((p.done, p.total, p.finished), (3, 10, false));
            assert!(board.read(other, token).is_none());
            t.writing();
        }
        let p = board.read(me, token).unwrap();
        assert!(p.writing && p.finished);
    }
}
