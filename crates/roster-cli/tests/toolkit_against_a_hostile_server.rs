//! The toolkit commands, run as the real `roster` binary, against the client crate's
//! hostile stand-in: tokens that die after a few calls, 429s with no header, dropped
//! connections, an ignored `email` filter, creates whose answer is lost, and users that
//! come and go between pages. Each test checks what a user of the command would: the
//! exit code, the users on the server afterwards, and what stdout and stderr say.

#[path = "../../roster-client/tests/support/mod.rs"]
mod standin;

use std::collections::{BTreeMap, BTreeSet};

use roster_client::{AccountUser, AccountUserFields};
use serde_json::Value;
use standin::{Churn, ChurnAction, Hostility, LostAnswer, StandIn, APP_KEY, SECRET};

const DRIFT_WARNING: &str = "warning: the directory changed during the audit";

/// What a run of `roster` left behind.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "{self:#?}");
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

/// Runs `roster` against the stand-in as a script would, with retrying bounded so that
/// a command that cannot cope fails within seconds instead of hanging the test.
async fn roster(server: &StandIn, args: &[&str]) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ROSTER_") {
            command.env_remove(&name);
        }
    }
    let output = command
        .args(args)
        .args(["--max-attempts", "12", "--max-retry-time", "8"])
        .env("ROSTER_BASE_URL", &server.base_url)
        .env("ROSTER_APP_KEY", APP_KEY)
        .env("ROSTER_SECRET", SECRET)
        .env("ROSTER_PROFILE", "/nonexistent/roster-test/profile.toml")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("the roster binary runs");

    let run = Run {
        code: output.status.code().expect("roster exited"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
    run
}

/// Expiring tokens, 429s with no header at random, and the first create landing with
/// its answer dropped.
fn tokens_429s_and_a_lost_create(seed: u64) -> Hostility {
    Hostility {
        token_uses: Some(2),
        expires_in: None,
        bare_429_rate: 0.2,
        lost_creates: 1,
        lost_answer: LostAnswer::Dropped,
        seed,
        ..Hostility::default()
    }
}

fn holding(server: &StandIn, email: &str) -> Vec<AccountUser> {
    server
        .users()
        .into_iter()
        .filter(|u| u.email.eq_ignore_ascii_case(email))
        .collect()
}

/// The CSV of `roster audit`, as users by id; panics if an id is listed twice.
fn listed_users(csv_text: &str) -> BTreeMap<i64, (String, String)> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name| headers.iter().position(|h| h == name).unwrap();
    let (id, email, role) = (column("id"), column("email"), column("role"));

    let mut listed = BTreeMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        let user = (record[email].to_owned(), record[role].to_owned());
        let id: i64 = record[id].parse().unwrap();
        assert!(listed.insert(id, user).is_none(), "user {id} listed twice");
    }
    listed
}

/// What `roster audit` promises, given the ids present when it started: exactly the
/// users present at its end, or else the drift warning; and in either case nobody who
/// was never on the server, everyone present for the whole walk, and each listed user
/// still on the server as the server holds them.
fn assert_audit_kept_its_promise(run: &Run, server: &StandIn, before: &BTreeSet<i64>) {
    let listed = listed_users(&run.stdout);
    let held: BTreeMap<i64, AccountUser> = server.users().into_iter().map(|u| (u.id, u)).collect();
    let history = server.history();

    let listed_ids: BTreeSet<i64> = listed.keys().copied().collect();
    let strangers: Vec<&i64> = listed_ids.difference(&history.created).collect();
    assert!(strangers.is_empty(), "never on the server: {strangers:?}");

    let throughout: BTreeSet<i64> = before.difference(&history.deleted).copied().collect();
    let missed: Vec<&i64> = throughout.difference(&listed_ids).collect();
    assert!(
        missed.is_empty(),
        "present all along but not listed: {missed:?}"
    );

    for (id, (email, role)) in &listed {
        if let Some(user) = held.get(id) {
            assert_eq!((email, role), (&user.email, &user.role), "user {id}");
        }
    }

    if !run.stderr.contains(DRIFT_WARNING) {
        let present: BTreeSet<i64> = held.keys().copied().collect();
        assert_eq!(listed_ids, present, "no warning, so the list must be exact");
    }
}

#[tokio::test]
async fn provision_under_expiring_tokens_429s_and_a_lost_answer_makes_the_user_once() {
    let server = StandIn::start(tokens_429s_and_a_lost_create(3)).await;
    server.seed_users(30);
    let provision = [
        "provision",
        "--email",
        "new.hire@example.com",
        "--role",
        "staff",
        "--output",
        "json",
    ];

    let first = roster(&server, &provision).await.ok();

    let made = holding(&server, "new.hire@example.com");
    assert_eq!(made.len(), 1, "{first:#?}");
    assert_eq!(server.users().len(), 31);
    assert_eq!(first.json()["id"], made[0].id);
    assert_eq!(made[0].role, "staff");
    let counts = server.counts();
    assert_eq!(counts.answers_lost, 1, "{counts:?}");
    assert!(
        counts.throttled > 0 && counts.unauthorized > 0,
        "{counts:?}"
    );

    let again = roster(&server, &provision).await.ok();

    assert!(again.stderr.contains("nothing to change"), "{again:#?}");
    assert_eq!(again.json()["id"], made[0].id);
    assert_eq!(server.users().len(), 31);
    assert_eq!(server.counts().creates_landed, 1);
}

#[tokio::test]
async fn deprovision_under_the_same_traps_deletes_exactly_that_user() {
    let server = StandIn::start(tokens_429s_and_a_lost_create(5)).await;
    server.seed_users(30);
    let email = "leaver@example.com";
    roster(&server, &["provision", "--email", email, "--role", "staff"])
        .await
        .ok();
    let leaver = holding(&server, email).remove(0);
    let before = server.counts();

    let run = roster(
        &server,
        &["deprovision", "--email", email, "--yes", "--output", "json"],
    )
    .await
    .ok();

    assert_eq!(run.json()["id"], leaver.id);
    assert!(holding(&server, email).is_empty());
    assert_eq!(server.history().deleted, BTreeSet::from([leaver.id]));
    assert_eq!(server.users().len(), 30);
    let after = server.counts();
    assert!(after.throttled > before.throttled, "{after:?}");
}

#[tokio::test]
async fn deprovision_through_dropped_connections_deletes_exactly_those_asked() {
    let server = StandIn::start(Hostility {
        token_uses: Some(2),
        expires_in: None,
        bare_429_rate: 0.2,
        reset_rate: 0.3,
        seed: 8,
        ..Hostility::default()
    })
    .await;
    server.seed_users(30);

    for id in 12..=16 {
        let email = format!("user{id}@example.com");
        let run = roster(&server, &["deprovision", "--email", &email, "--yes"]).await;
        let run = run.ok();
        assert!(holding(&server, &email).is_empty(), "{run:#?}");
    }

    assert_eq!(server.history().deleted, BTreeSet::from_iter(12..=16));
    assert_eq!(server.users().len(), 25);
    let counts = server.counts();
    assert!(counts.resets > 0 && counts.throttled > 0, "{counts:?}");
}

#[tokio::test]
async fn audit_under_every_trap_and_churn_lists_each_user_once_and_keeps_its_promise() {
    let server = StandIn::start(Hostility {
        token_uses: Some(2),
        expires_in: None,
        bare_429_rate: 0.15,
        reset_rate: 0.1,
        churn: vec![
            Churn {
                before_page: 2,
                action: ChurnAction::Insert(10),
            },
            Churn {
                before_page: 3,
                action: ChurnAction::DeleteFirst(120),
            },
            Churn {
                before_page: 4,
                action: ChurnAction::InsertAtFront(3),
            },
            Churn {
                before_page: 5,
                action: ChurnAction::DeleteFirst(4),
            },
        ],
        seed: 13,
        ..Hostility::default()
    })
    .await;
    server.seed_users(620);
    let before: BTreeSet<i64> = server.users().iter().map(|u| u.id).collect();

    let run = roster(&server, &["audit", "--output", "csv"]).await.ok();

    assert!(run.stderr.contains(DRIFT_WARNING), "{}", run.stderr);
    assert_audit_kept_its_promise(&run, &server, &before);
    let counts = server.counts();
    assert!(counts.throttled > 0 && counts.resets > 0 && counts.unauthorized > 0);
}

#[tokio::test]
async fn audit_of_a_quiet_directory_under_every_trap_is_exact_and_gives_no_warning() {
    let server = StandIn::start(Hostility {
        token_uses: Some(2),
        expires_in: None,
        bare_429_rate: 0.15,
        reset_rate: 0.1,
        seed: 17,
        ..Hostility::default()
    })
    .await;
    server.seed_users(420);
    let before: BTreeSet<i64> = server.users().iter().map(|u| u.id).collect();

    let run = roster(&server, &["audit", "--output", "csv"]).await.ok();

    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert_audit_kept_its_promise(&run, &server, &before);
    assert_eq!(listed_users(&run.stdout).len(), 420);
}

#[tokio::test]
async fn roles_counts_right_on_a_server_that_ignores_the_email_filter() {
    let server = StandIn::start(Hostility {
        ignore_email_filter: true,
        bare_429_rate: 0.1,
        seed: 19,
        ..Hostility::default()
    })
    .await;
    server.seed_users(230);
    let client = server.client();
    for (n, role) in ["admin", "admin", "staff", "staff", "staff"]
        .iter()
        .enumerate()
    {
        let fields = AccountUserFields {
            email: Some(format!("team{n}@example.com")),
            role: Some((*role).into()),
            ..AccountUserFields::default()
        };
        client.create_user(&fields).await.unwrap();
    }

    let run = roster(&server, &["roles", "--output", "json"]).await.ok();

    let counts: BTreeMap<String, u64> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["role"].as_str().unwrap().to_owned(),
                r["users"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected =
        [("admin", 2), ("staff", 3), ("viewer", 230)].map(|(role, users)| (role.to_owned(), users));
    assert_eq!(counts, BTreeMap::from(expected));
}

#[tokio::test]
async fn provision_on_a_server_that_ignores_the_email_filter_takes_nobody_else_for_the_user() {
    let server = StandIn::start(Hostility {
        ignore_email_filter: true,
        ..Hostility::default()
    })
    .await;
    server.seed_users(250);

    let created = roster(
        &server,
        &[
            "provision",
            "--email",
            "ana@example.com",
            "--role",
            "admin",
            "--output",
            "json",
        ],
    )
    .await
    .ok();

    let ana = holding(&server, "ana@example.com");
    assert_eq!(ana.len(), 1, "{created:#?}");
    assert_eq!(created.json()["email"], "ana@example.com");
    assert_eq!(ana[0].role, "admin");
    assert_eq!(server.users().len(), 251);

    let existing = roster(
        &server,
        &[
            "provision",
            "--email",
            "USER230@example.com",
            "--output",
            "json",
        ],
    )
    .await
    .ok();

    assert_eq!(existing.json()["id"], 230, "{existing:#?}");
    assert_eq!(server.users().len(), 251);
}

#[tokio::test]
async fn deprovision_on_a_server_that_ignores_the_email_filter_deletes_the_one_asked() {
    let server = StandIn::start(Hostility {
        ignore_email_filter: true,
        ..Hostility::default()
    })
    .await;
    server.seed_users(250);

    let run = roster(
        &server,
        &[
            "deprovision",
            "--email",
            "user180@example.com",
            "--yes",
            "--output",
            "json",
        ],
    )
    .await
    .ok();

    assert_eq!(run.json()["id"], 180);
    assert_eq!(server.history().deleted, BTreeSet::from([180]));
}
