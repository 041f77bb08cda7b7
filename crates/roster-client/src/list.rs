//! Listing every user over offset pages that may drift while they are read.
//!
//! The API pages by offset (`page`, `count`) in ascending id order. Users created during
//! the walk get higher ids and so land on later pages, where the walk still finds them.
//! Users deleted from pages already read shift the later ones left, so that those who
//! slid over a page boundary now sit on a page already read. The walk cannot see the
//! slide itself, but it sees `pagination.total` fall, and steps back as many pages as
//! the users removed fill, to read the ones that slid; it also reports the move, so that
//! the caller can warn that users added or removed meanwhile may be missing or listed
//! though gone. A delete and a create between the same two pages leave the total
//! unchanged and can hide a slide, and so can more removals than the walk steps back
//! for; only a second walk would tell.

use std::{
    collections::{HashSet, VecDeque},
    fmt,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll},
};

use futures::{Stream, TryStreamExt};
use roster_api::users::{AccountUser, AccountUserList};

use crate::{Client, Error};

/// Full pages in a row with no user not seen before, after which the walk gives up
/// rather than loop forever on a server that ignores `page`.
const STALLED_PAGES_LIMIT: u32 = 2;

/// Times a walk steps back after the total fell, after which it goes on and only
/// reports the move, so that a directory that keeps shrinking cannot hold it forever.
const STEPS_BACK_LIMIT: u32 = 16;

/// Every user of the account, one at a time, each id once.
///
/// Pages are fetched as the stream is read: it stops after the first short page, skips
/// users already yielded (a page that shifted right repeats some), and ends after the
/// first error. [`UserStream::progress`] tells how far it got, and
/// [`UserStream::summary`] whether the directory changed underneath it.
pub struct UserStream {
    users: Pin<Box<dyn Stream<Item = Result<AccountUser, Error>> + Send>>,
    progress: ListProgress,
}

/// A view of a walk in progress, cheap to clone and to read from another task.
#[derive(Clone, Debug, Default)]
pub struct ListProgress {
    walk: Arc<Mutex<Walk>>,
}

/// How far a walk got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Pages fetched so far.
    pub pages: u64,
    /// Distinct users received so far.
    pub users: u64,
    /// `pagination.total` of the latest page, once one arrived.
    pub total: Option<u64>,
}

/// What a finished walk found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListSummary {
    pub pages: u64,
    /// Distinct users yielded.
    pub users: u64,
    /// Users received again on a later page and not yielded twice.
    pub duplicates: u64,
    /// `pagination.total` on the first and on the last page.
    pub first_total: u64,
    pub last_total: u64,
    /// Whether `pagination.total` differed between any two pages.
    pub total_moved: bool,
}

impl ListSummary {
    /// True when the users yielded may differ from the directory as it stood at the
    /// end: the total moved during the walk, or the users seen do not add up to it.
    pub fn changed_during_walk(&self) -> bool {
        self.total_moved || self.users != self.last_total
    }
}

/// Every user, gathered, with the summary of the walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub users: Vec<AccountUser>,
    pub summary: ListSummary,
}

#[derive(Debug, Default)]
struct Walk {
    summary: ListSummary,
    first_page_seen: bool,
    finished: bool,
}

impl UserStream {
    pub(crate) fn new(client: Client, count: u64) -> UserStream {
        let progress = ListProgress::default();
        let cursor = Cursor {
            client,
            count,
            page: 1,
            seen: HashSet::new(),
            buffer: VecDeque::new(),
            last_page_read: false,
            stalled_pages: 0,
            last_total: None,
            reread_until: 0,
            steps_back: 0,
            failed: false,
            progress: progress.clone(),
        };
        let users = futures::stream::unfold(cursor, Cursor::next);

        UserStream {
            users: Box::pin(users),
            progress,
        }
    }

    /// A handle on the walk's progress, e.g. for a progress bar drawn by another task.
    pub fn progress(&self) -> ListProgress {
        self.progress.clone()
    }

    /// The summary, once the stream has ended without error.
    pub fn summary(&self) -> Option<ListSummary> {
        self.progress.summary()
    }

    /// Reads the whole stream.
    pub async fn collect_all(mut self) -> Result<Listing, Error> {
        let mut users = Vec::new();
        while let Some(user) = self.try_next().await? {
            users.push(user);
        }

        let summary = self
            .summary()
            .expect("a stream that ended without error has a summary");
        Ok(Listing { users, summary })
    }
}

impl Stream for UserStream {
    type Item = Result<AccountUser, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.users.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for UserStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserStream")
            .field("progress", &self.progress.snapshot())
            .finish_non_exhaustive()
    }
}

impl ListProgress {
    pub fn snapshot(&self) -> Progress {
        let walk = self.lock();
        Progress {
            pages: walk.summary.pages,
            users: walk.summary.users,
            total: walk.first_page_seen.then_some(walk.summary.last_total),
        }
    }

    /// The summary, once the walk has ended without error.
    pub fn summary(&self) -> Option<ListSummary> {
        let walk = self.lock();
        walk.finished.then_some(walk.summary)
    }

    fn lock(&self) -> MutexGuard<'_, Walk> {
        // A panic elsewhere cannot leave these counters half-updated in a harmful way.
        self.walk
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record_page(&self, total: u64, fresh: u64, duplicates: u64) {
        let mut walk = self.lock();
        if !walk.first_page_seen {
            walk.first_page_seen = true;
            walk.summary.first_total = total;
        } else if total != walk.summary.last_total {
            walk.summary.total_moved = true;
        }

        let summary = &mut walk.summary;
        summary.last_total = total;
        summary.pages += 1;
        summary.users += fresh;
        summary.duplicates += duplicates;
    }

    fn finish(&self) {
        self.lock().finished = true;
    }
}

/// The state of a walk between two items of the stream.
struct Cursor {
    client: Client,
    count: u64,
    page: u64,
    seen: HashSet<i64>,
    buffer: VecDeque<AccountUser>,
    last_page_read: bool,
    stalled_pages: u32,
    /// `pagination.total` of the page read before.
    last_total: Option<u64>,
    /// Pages up to this one are read again after a step back, so finding no new user on
    /// them is no sign of a server that ignores `page`.
    reread_until: u64,
    steps_back: u32,
    failed: bool,
    progress: ListProgress,
}

impl Cursor {
    async fn next(mut self) -> Option<(Result<AccountUser, Error>, Cursor)> {
        loop {
            if let Some(user) = self.buffer.pop_front() {
                return Some((Ok(user), self));
            }
            if self.failed {
                return None;
            }
            if self.last_page_read {
                self.progress.finish();
                return None;
            }

            if let Err(error) = self.read_page().await {
                self.failed = true;
                return Some((Err(error), self));
            }
        }
    }

    async fn read_page(&mut self) -> Result<(), Error> {
        let list = self.client.list_page(self.page, self.count).await?;
        let total = list.pagination.total;
        let last = is_last_page(&list, self.count);

        let mut fresh = 0;
        let mut duplicates = 0;
        for user in list.account_users {
            if self.seen.insert(user.id) {
                self.buffer.push_back(user);
                fresh += 1;
            } else {
                duplicates += 1;
            }
        }
        self.progress.record_page(total, fresh, duplicates);

        let fell = self
            .last_total
            .map_or(0, |previous| previous.saturating_sub(total));
        self.last_total = Some(total);
        if fell > 0 && self.page > 1 && self.steps_back < STEPS_BACK_LIMIT {
            // Had the removed users all been on pages already read, the users after
            // them slid left by `fell` places, onto the pages this many back.
            self.steps_back += 1;
            self.reread_until = self.reread_until.max(self.page);
            self.page = self.page.saturating_sub(fell.div_ceil(self.count)).max(1);
            return Ok(());
        }

        if last {
            self.last_page_read = true;
            return Ok(());
        }
        if fresh == 0 && self.page > self.reread_until {
            self.stalled_pages += 1;
            if self.stalled_pages >= STALLED_PAGES_LIMIT {
                return Err(Error::PaginationStalled { page: self.page });
            }
        } else {
            self.stalled_pages = 0;
        }
        self.page += 1;
        Ok(())
    }
}

/// A page is the last when it holds fewer users than a page holds. That size is the
/// `count` asked for, or the `per_page` the server reports when it is smaller: a server
/// that silently caps `count` would otherwise end every walk after its first page.
pub(crate) fn is_last_page(list: &AccountUserList, count: u64) -> bool {
    let per_page = match list.pagination.per_page {
        0 => count,
        reported => reported.min(count),
    };
    (list.account_users.len() as u64) < per_page
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_api::users::Pagination;

    fn page(len: usize, per_page: u64) -> AccountUserList {
        let user = |id| AccountUser {
            id,
            email: format!("u{id}@example.com"),
            name: None,
            role: "viewer".into(),
            created_at: String::new(),
            updated_at: String::new(),
            active: true,
        };
        AccountUserList {
            account_users: (0..len as i64).map(user).collect(),
            pagination: Pagination {
                page: 1,
                per_page,
                total: 1000,
            },
        }
    }

    #[test]
    fn a_page_shorter_than_asked_is_the_last() {
        assert!(is_last_page(&page(99, 100), 100));
        assert!(!is_last_page(&page(100, 100), 100));
    }

    #[test]
    fn a_server_that_caps_the_count_is_still_walked_to_the_end() {
        assert!(!is_last_page(&page(50, 50), 100));
        assert!(is_last_page(&page(49, 50), 100));
    }

    #[test]
    fn an_unchanged_total_with_the_users_adding_up_is_no_change() {
        let progress = ListProgress::default();
        progress.record_page(150, 100, 0);
        progress.record_page(150, 50, 0);
        progress.finish();

        let summary = progress.summary().unwrap();
        assert!(!summary.total_moved);
        assert!(!summary.changed_during_walk());
    }

    #[test]
    fn a_moving_total_is_reported() {
        let progress = ListProgress::default();
        progress.record_page(150, 100, 0);
        progress.record_page(151, 51, 0);
        progress.finish();

        let summary = progress.summary().unwrap();
        assert!(summary.total_moved);
        assert_eq!((summary.first_total, summary.last_total), (150, 151));
    }

    #[test]
    fn no_summary_before_the_walk_ends() {
        let progress = ListProgress::default();
        progress.record_page(150, 100, 0);
        assert_eq!(progress.summary(), None);
        assert_eq!(progress.snapshot().total, Some(150));
    }
}
