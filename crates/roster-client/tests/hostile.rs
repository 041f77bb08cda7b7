//! The client against a stand-in that behaves like the vendor at its worst. Each test
//! checks what a user of the client would: every call succeeds in the end, no user is
//! created twice, an audit lists exactly the users present at its end or says that they
//! moved, and refusals come back as typed errors.

mod support;

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    time::{Duration, Instant},
};

use futures::{future::join_all, TryStreamExt};
use roster_client::{AccountUser, AccountUserFields, Client, Error, ErrorType, Listing};
use support::{Churn, ChurnAction, Hint, Hostility, LostAnswer, StandIn};

fn new_user(email: &str) -> AccountUserFields {
    AccountUserFields {
        email: Some(email.into()),
        role: Some("staff".into()),
        ..AccountUserFields::default()
    }
}

fn ids(users: &[roster_client::AccountUser]) -> Vec<i64> {
    let mut ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    ids.sort_unstable();
    ids
}

/// The ids the server holds now, to call before a walk.
fn present(server: &StandIn) -> BTreeSet<i64> {
    server.users().iter().map(|u| u.id).collect()
}

/// The promise of an audit, given the ids present when it began. Whatever happened
/// meanwhile, it lists no user twice and nobody who was never on the server, it lists
/// everyone present for the whole walk (there at its start and never deleted), and each
/// listed user still on the server is listed as the server holds them. Unless it
/// reported that the directory changed underneath it, what it lists is also exactly what
/// the server holds at its end.
fn assert_exact_or_reported(listing: &Listing, server: &StandIn, before: &BTreeSet<i64>) {
    let listed = ids(&listing.users);
    let unique: BTreeSet<i64> = listed.iter().copied().collect();
    assert_eq!(unique.len(), listed.len(), "a user was listed twice");

    let history = server.history();
    let strangers: Vec<&i64> = unique.difference(&history.created).collect();
    assert!(strangers.is_empty(), "never on the server: {strangers:?}");

    let throughout: BTreeSet<i64> = before.difference(&history.deleted).copied().collect();
    let missed: Vec<&i64> = throughout.difference(&unique).collect();
    assert!(
        missed.is_empty(),
        "present all along but not listed: {missed:?}"
    );

    let held: HashMap<i64, AccountUser> = server.users().into_iter().map(|u| (u.id, u)).collect();
    for user in &listing.users {
        if let Some(on_server) = held.get(&user.id) {
            assert_eq!(user, on_server, "listed otherwise than the server holds");
        }
    }

    if !listing.summary.changed_during_walk() {
        let mut present: Vec<i64> = held.into_keys().collect();
        present.sort_unstable();
        assert_eq!(
            listed, present,
            "an unchanged walk must list exactly the users present"
        );
    }
}

mod tokens {
    use super::*;

    #[tokio::test]
    async fn every_call_succeeds_when_tokens_die_after_three_calls() {
        let server = StandIn::start(Hostility {
            token_uses: Some(3),
            expires_in: None,
            ..Hostility::default()
        })
        .await;
        server.seed_users(5);
        let client = server.client();

        for round in 0..10 {
            for id in 1..=5 {
                let user = client.get_user(id).await.unwrap();
                assert_eq!(user.id, id, "round {round}");
            }
        }

        let counts = server.counts();
        assert!(counts.unauthorized >= 10, "{counts:?}");
        assert!(counts.token_requests >= 17, "{counts:?}");
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_token_fetch() {
        let server = StandIn::start(Hostility::default()).await;
        server.seed_users(3);
        let client = server.client();

        let calls = (0..20).map(|n| {
            let client = client.clone();
            async move { client.get_user(n % 3 + 1).await }
        });
        for result in join_all(calls).await {
            result.unwrap();
        }
        assert_eq!(server.counts().token_requests, 1);

        server.revoke_tokens();
        let calls = (0..20).map(|n| {
            let client = client.clone();
            async move { client.get_user(n % 3 + 1).await }
        });
        for result in join_all(calls).await {
            result.unwrap();
        }
        assert_eq!(
            server.counts().token_requests,
            2,
            "one refresh after the revocation"
        );
    }

    #[tokio::test]
    async fn a_token_without_expires_in_is_replaced_after_the_configured_age() {
        let server = StandIn::start(Hostility {
            expires_in: None,
            ..Hostility::default()
        })
        .await;
        server.seed_users(1);
        let config = server
            .client_config()
            .with_token_max_age(Duration::from_millis(200));
        let client = Client::new(config).unwrap();

        client.get_user(1).await.unwrap();
        client.get_user(1).await.unwrap();
        assert_eq!(server.counts().token_requests, 1);

        tokio::time::sleep(Duration::from_millis(300)).await;
        client.get_user(1).await.unwrap();
        assert_eq!(server.counts().token_requests, 2);
        assert_eq!(server.counts().unauthorized, 0);
    }

    #[tokio::test]
    async fn a_token_is_replaced_before_expires_in_runs_out() {
        let server = StandIn::start(Hostility {
            expires_in: Some(1),
            token_ttl: Some(Duration::from_secs(1)),
            ..Hostility::default()
        })
        .await;
        server.seed_users(1);
        let client = server.client();

        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(2300) {
            client.get_user(1).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let counts = server.counts();
        assert_eq!(
            counts.unauthorized, 0,
            "no call should meet an expired token"
        );
        assert!(counts.token_requests >= 4, "{counts:?}");
    }

    #[tokio::test]
    async fn a_wrong_secret_is_an_oauth_error() {
        let server = StandIn::start(Hostility::default()).await;
        let config = roster_client::ClientConfig::new(&server.base_url, "stand-in-app", "nope");
        let client = Client::new(config).unwrap();

        match client.get_user(1).await {
            Err(Error::OAuth { status, error, .. }) => {
                assert_eq!((status, error.as_str()), (401, "invalid_client"));
            }
            other => panic!("expected invalid_client, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_token_may_travel_in_a_header_or_the_query() {
        use roster_client::TokenPlacement;

        let server = StandIn::start(Hostility::default()).await;
        server.seed_users(1);
        for placement in [TokenPlacement::Header, TokenPlacement::Query] {
            let config = server.client_config().with_token_placement(placement);
            let client = Client::new(config).unwrap();
            client.get_user(1).await.unwrap();
        }
        assert_eq!(server.counts().unauthorized, 0);
    }
}

mod rate_limits {
    use super::*;

    #[tokio::test]
    async fn random_429s_without_headers_are_outlasted() {
        let server = StandIn::start(Hostility {
            bare_429_rate: 0.4,
            seed: 11,
            ..Hostility::default()
        })
        .await;
        server.seed_users(10);
        let client = server.client();

        for id in 1..=10 {
            client.get_user(id).await.unwrap();
        }
        let renamed = AccountUserFields {
            name: Some(Some("Renamed".into())),
            ..AccountUserFields::default()
        };
        client.update_user(3, &renamed).await.unwrap();
        client.delete_user(4).await.unwrap();
        client
            .create_user(&new_user("new@example.com"))
            .await
            .unwrap();

        assert!(server.counts().throttled >= 3, "{:?}", server.counts());
        assert_eq!(client.stats().throttled, server.counts().throttled);
        assert_eq!(server.users().len(), 10);
    }

    async fn waits_as_told(hint: Hint, at_least: Duration) {
        let server = StandIn::start(Hostility {
            hinted_429s: 1,
            hint,
            ..Hostility::default()
        })
        .await;
        server.seed_users(1);
        let client = server.client();

        let started = Instant::now();
        client.get_user(1).await.unwrap();
        let waited = started.elapsed();

        assert!(waited >= at_least, "waited only {waited:?} for {hint:?}");
        assert!(
            waited < at_least + Duration::from_secs(2),
            "waited {waited:?}"
        );
        assert_eq!(server.counts().throttled, 1);
    }

    #[tokio::test]
    async fn retry_after_in_seconds_is_waited_out() {
        waits_as_told(Hint::RetryAfterSeconds(1), Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn retry_after_as_a_date_is_waited_out() {
        // A date has a resolution of one second; the stand-in rounds it up.
        waits_as_told(Hint::RetryAfterDate(1), Duration::from_millis(900)).await;
    }

    #[tokio::test]
    async fn ratelimit_reset_is_waited_out() {
        waits_as_told(Hint::RateLimitReset(1), Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn retrying_stops_at_the_attempt_limit() {
        let server = StandIn::start(Hostility {
            bare_429_rate: 1.0,
            ..Hostility::default()
        })
        .await;
        let config = server
            .client_config()
            .with_retry_limits(4, Duration::from_secs(30));
        let client = Client::new(config).unwrap();

        match client.get_user(1).await {
            Err(Error::GaveUp { attempts, last, .. }) => {
                assert_eq!(attempts, 4);
                assert_eq!(last.kind(), Some(ErrorType::TooManyRequests));
            }
            other => panic!("expected to give up, got {other:?}"),
        }
        // The token request is throttled too; it gives up after its own 4 attempts.
        assert_eq!(server.counts().requests, 4);
    }

    #[tokio::test]
    async fn retrying_stops_at_the_time_limit_without_sleeping_past_it() {
        let server = StandIn::start(Hostility {
            hinted_429s: 100,
            hint: Hint::RetryAfterSeconds(30),
            ..Hostility::default()
        })
        .await;
        let config = server
            .client_config()
            .with_retry_limits(10, Duration::from_millis(500));
        let client = Client::new(config).unwrap();

        let started = Instant::now();
        let result = client.get_user(1).await;

        assert!(matches!(result, Err(Error::GaveUp { .. })), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn pacing_keeps_a_known_limit_from_being_hit() {
        let server = StandIn::start(Hostility {
            rate_limit: Some(20),
            ..Hostility::default()
        })
        .await;
        server.seed_users(1);
        let config = server.client_config().with_pace(20);
        let client = Client::new(config).unwrap();

        // The stand-in's bucket starts full; exhaust it so pacing alone must hold.
        for _ in 0..40 {
            client.get_user(1).await.unwrap();
        }
        assert_eq!(server.counts().throttled, 0);
    }
}

mod connections {
    use super::*;

    #[tokio::test]
    async fn reads_updates_and_deletes_survive_dropped_connections() {
        let server = StandIn::start(Hostility {
            reset_rate: 0.3,
            seed: 5,
            ..Hostility::default()
        })
        .await;
        server.seed_users(20);
        let client = server.client();

        for id in 1..=10 {
            assert_eq!(client.get_user(id).await.unwrap().id, id);
        }
        let promote = AccountUserFields {
            role: Some("admin".into()),
            ..AccountUserFields::default()
        };
        for id in 11..=15 {
            assert_eq!(
                client.update_user(id, &promote).await.unwrap().role,
                "admin"
            );
        }
        for id in 16..=20 {
            match client.delete_user(id).await {
                Ok(()) => {}
                // The first delete landed and its answer was dropped.
                Err(e) if e.is_not_found() => {}
                Err(e) => panic!("delete {id}: {e}"),
            }
        }

        assert!(server.counts().resets >= 3, "{:?}", server.counts());
        assert_eq!(ids(&server.users()), (1..=15).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_create_whose_answer_was_dropped_is_not_made_twice() {
        let server = StandIn::start(Hostility {
            lost_creates: 1,
            lost_answer: LostAnswer::Dropped,
            ..Hostility::default()
        })
        .await;
        let client = server.client();

        let user = client
            .create_user(&new_user("Ana@Example.com"))
            .await
            .unwrap();

        assert_eq!(user.email, "Ana@Example.com");
        assert_eq!(server.users().len(), 1);
        assert_eq!(server.counts().creates_landed, 1);
        assert_eq!(server.counts().answers_lost, 1);
        assert_eq!(client.stats().transport_errors, 1, "{:?}", client.stats());
    }

    #[tokio::test]
    async fn a_create_answered_with_502_after_landing_is_not_made_twice() {
        let server = StandIn::start(Hostility {
            lost_creates: 1,
            lost_answer: LostAnswer::BadGateway,
            ignore_email_filter: true,
            ..Hostility::default()
        })
        .await;
        server.seed_users(250);
        let client = server.client();

        let user = client
            .create_user(&new_user("ana@example.com"))
            .await
            .unwrap();

        assert_eq!(user.email, "ana@example.com");
        assert_eq!(server.users().len(), 251);
        assert_eq!(server.counts().creates_landed, 1);
        assert_eq!(client.stats().server_errors, 1, "{:?}", client.stats());
    }

    #[tokio::test]
    async fn a_create_that_did_not_land_is_sent_again() {
        let server = StandIn::start(Hostility {
            dropped_creates: 2,
            ..Hostility::default()
        })
        .await;
        let client = server.client();

        let user = client
            .create_user(&new_user("bo@example.com"))
            .await
            .unwrap();

        assert_eq!(user.email, "bo@example.com");
        assert_eq!(server.users().len(), 1);
        assert_eq!(server.counts().resets, 2);
        assert_eq!(server.counts().creates_landed, 1);
        assert_eq!(client.stats().transport_errors, 2, "{:?}", client.stats());
    }

    #[tokio::test]
    async fn many_creates_under_every_trap_make_each_user_once() {
        let server = StandIn::start(Hostility {
            token_uses: Some(4),
            expires_in: None,
            bare_429_rate: 0.15,
            reset_rate: 0.15,
            ignore_email_filter: true,
            lost_creates: 5,
            lost_answer: LostAnswer::Dropped,
            seed: 21,
            ..Hostility::default()
        })
        .await;
        server.seed_users(30);
        let client = server.client();

        for n in 0..20 {
            let email = format!("hire{n}@example.com");
            let user = client.create_user(&new_user(&email)).await.unwrap();
            assert_eq!(user.email, email);
        }

        let users = server.users();
        let emails: HashSet<String> = users.iter().map(|u| u.email.to_lowercase()).collect();
        assert_eq!(users.len(), 50);
        assert_eq!(emails.len(), 50, "no email may appear twice");
        assert_eq!(server.counts().answers_lost, 5);
    }
}

mod lookups {
    use super::*;

    #[tokio::test]
    async fn find_by_email_checks_the_addresses_when_the_filter_is_ignored() {
        let server = StandIn::start(Hostility {
            ignore_email_filter: true,
            ..Hostility::default()
        })
        .await;
        server.seed_users(250);
        let client = server.client();

        let found = client.find_by_email("USER230@example.com").await.unwrap();
        assert_eq!(found.map(|u| u.id), Some(230));

        let missing = client.find_by_email("nobody@example.com").await.unwrap();
        assert_eq!(missing, None);
    }

    #[tokio::test]
    async fn find_by_email_uses_the_filter_when_the_server_applies_it() {
        let server = StandIn::start(Hostility::default()).await;
        server.seed_users(250);
        let client = server.client();

        let found = client.find_by_email("user7@EXAMPLE.com").await.unwrap();
        assert_eq!(found.map(|u| u.id), Some(7));
        assert_eq!(client.find_by_email("x@example.com").await.unwrap(), None);
        // One token request and one list request each.
        assert_eq!(server.counts().requests, 3);
    }
}

mod audits {
    use super::*;

    #[tokio::test]
    async fn a_quiet_directory_is_listed_exactly_with_progress() {
        let server = StandIn::start(Hostility::default()).await;
        server.seed_users(350);
        let client = server.client();

        let mut stream = client.list_all();
        let progress = stream.progress();
        let mut users = Vec::new();
        while let Some(user) = stream.try_next().await.unwrap() {
            users.push(user);
            let now = progress.snapshot();
            assert_eq!(now.total, Some(350));
            assert!(now.users >= users.len() as u64);
        }
        let summary = stream.summary().unwrap();

        assert_eq!(ids(&users), ids(&server.users()));
        assert_eq!((summary.pages, summary.users), (4, 350));
        assert!(!summary.total_moved && !summary.changed_during_walk());
    }

    #[tokio::test]
    async fn an_exact_multiple_of_the_page_size_ends_on_an_empty_page() {
        let server = StandIn::start(Hostility::default()).await;
        server.seed_users(200);

        let listing = server.client().list_all().collect_all().await.unwrap();

        assert_eq!(listing.users.len(), 200);
        assert_eq!(listing.summary.pages, 3);
    }

    #[tokio::test]
    async fn users_added_during_an_audit_are_listed_and_the_move_reported() {
        let server = StandIn::start(Hostility {
            churn: vec![
                Churn {
                    before_page: 2,
                    action: ChurnAction::Insert(5),
                },
                Churn {
                    before_page: 4,
                    action: ChurnAction::Insert(3),
                },
            ],
            ..Hostility::default()
        })
        .await;
        server.seed_users(350);
        let before = present(&server);

        let listing = server.client().list_all().collect_all().await.unwrap();

        assert!(listing.summary.total_moved);
        assert_exact_or_reported(&listing, &server, &before);
        assert_eq!(
            ids(&listing.users),
            ids(&server.users()),
            "appended users are found"
        );
        assert_eq!(listing.users.len(), 358);
    }

    #[tokio::test]
    async fn users_removed_during_an_audit_make_it_report_the_move() {
        let server = StandIn::start(Hostility {
            churn: vec![Churn {
                before_page: 3,
                action: ChurnAction::DeleteFirst(7),
            }],
            ..Hostility::default()
        })
        .await;
        server.seed_users(350);
        let before = present(&server);

        let listing = server.client().list_all().collect_all().await.unwrap();

        assert!(listing.summary.total_moved);
        assert!(listing.summary.changed_during_walk());
        assert_exact_or_reported(&listing, &server, &before);
    }

    #[tokio::test]
    async fn users_removed_by_more_than_a_page_during_an_audit_hide_nobody_who_stayed() {
        let server = StandIn::start(Hostility {
            churn: vec![
                Churn {
                    before_page: 3,
                    action: ChurnAction::DeleteFirst(150),
                },
                Churn {
                    before_page: 4,
                    action: ChurnAction::Insert(20),
                },
            ],
            ..Hostility::default()
        })
        .await;
        server.seed_users(450);
        let before = present(&server);

        let listing = server.client().list_all().collect_all().await.unwrap();

        assert!(listing.summary.changed_during_walk());
        assert_exact_or_reported(&listing, &server, &before);
    }

    #[tokio::test]
    async fn users_repeated_by_a_page_shift_are_listed_once() {
        let server = StandIn::start(Hostility {
            churn: vec![Churn {
                before_page: 2,
                action: ChurnAction::InsertAtFront(4),
            }],
            ..Hostility::default()
        })
        .await;
        server.seed_users(250);
        let before = present(&server);

        let listing = server.client().list_all().collect_all().await.unwrap();

        assert_eq!(listing.summary.duplicates, 4);
        assert!(listing.summary.changed_during_walk());
        assert_exact_or_reported(&listing, &server, &before);
    }

    #[tokio::test]
    async fn an_audit_under_every_trap_at_once_completes() {
        let server = StandIn::start(Hostility {
            token_uses: Some(2),
            expires_in: None,
            bare_429_rate: 0.2,
            reset_rate: 0.15,
            churn: vec![
                Churn {
                    before_page: 2,
                    action: ChurnAction::Insert(10),
                },
                Churn {
                    before_page: 5,
                    action: ChurnAction::DeleteFirst(3),
                },
            ],
            seed: 99,
            ..Hostility::default()
        })
        .await;
        server.seed_users(1000);
        let before = present(&server);
        let client = server.client();

        let listing = client.list_all().collect_all().await.unwrap();

        assert!(listing.summary.total_moved);
        assert_exact_or_reported(&listing, &server, &before);
        let counts = server.counts();
        assert!(counts.throttled > 0 && counts.resets > 0 && counts.unauthorized > 0);
    }

    #[tokio::test]
    async fn a_server_that_ignores_the_page_parameter_stops_the_walk() {
        let server = StandIn::start(Hostility {
            ignore_page: true,
            ..Hostility::default()
        })
        .await;
        server.seed_users(300);
        let client = server.client();

        let mut stream = client.list_all();
        let mut received = 0;
        let error = loop {
            match stream.try_next().await {
                Ok(Some(_)) => received += 1,
                Ok(None) => panic!("the walk should not end normally"),
                Err(error) => break error,
            }
        };

        assert!(
            matches!(error, Error::PaginationStalled { .. }),
            "{error:?}"
        );
        assert_eq!(received, 100);
        assert!(
            stream.try_next().await.unwrap().is_none(),
            "the stream ends after an error"
        );
        assert_eq!(stream.summary(), None);
    }
}

mod errors {
    use super::*;

    #[tokio::test]
    async fn an_unknown_user_is_a_typed_404() {
        let server = StandIn::start(Hostility::default()).await;
        let error = server.client().get_user(404).await.unwrap_err();

        assert!(error.is_not_found());
        assert_eq!(error.kind(), Some(ErrorType::RecordNotFound));
        let api = error.api().unwrap();
        assert_eq!(api.message, "Couldn't find AccountUser with id = 404");
    }

    #[tokio::test]
    async fn a_taken_email_is_a_typed_409() {
        let server = StandIn::start(Hostility::default()).await;
        let client = server.client();
        client
            .create_user(&new_user("cy@example.com"))
            .await
            .unwrap();

        let error = client
            .create_user(&new_user("CY@example.com"))
            .await
            .unwrap_err();

        assert!(error.is_conflict());
        assert_eq!(error.kind(), Some(ErrorType::RecordNotUnique));
        assert_eq!(server.users().len(), 1);
    }

    #[tokio::test]
    async fn an_invalid_email_or_role_is_a_typed_422() {
        let server = StandIn::start(Hostility::default()).await;
        let client = server.client();

        let error = client
            .create_user(&new_user("not-an-address"))
            .await
            .unwrap_err();
        assert_eq!(error.status(), Some(422));
        assert_eq!(error.kind(), Some(ErrorType::RecordInvalid));

        let mut fields = new_user("dee@example.com");
        fields.role = Some("owner".into());
        let error = client.create_user(&fields).await.unwrap_err();
        assert_eq!(error.kind(), Some(ErrorType::RecordInvalid));
        assert!(error.api().unwrap().message.contains("viewer"));
    }

    #[tokio::test]
    async fn a_count_out_of_range_is_a_typed_400() {
        let server = StandIn::start(Hostility::default()).await;
        let error = server.client().list_page(1, 101).await.unwrap_err();
        assert_eq!(error.kind(), Some(ErrorType::InvalidParameters));
    }

    #[tokio::test]
    async fn a_create_without_an_email_is_refused_before_sending() {
        let server = StandIn::start(Hostility::default()).await;
        let result = server
            .client()
            .create_user(&AccountUserFields::default())
            .await;
        assert!(matches!(result, Err(Error::Usage(_))), "{result:?}");
        assert_eq!(server.counts().requests, 0);
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_transport_error_after_bounded_retries() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let config = roster_client::ClientConfig::new(base, "a", "s")
            .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
            .with_retry_limits(3, Duration::from_secs(5));

        let error = Client::new(config).unwrap().get_user(1).await.unwrap_err();

        match error {
            Error::GaveUp { attempts, last, .. } => {
                assert_eq!(attempts, 3);
                assert!(matches!(*last, Error::Transport(_)), "{last:?}");
            }
            other => panic!("expected to give up, got {other:?}"),
        }
    }
}
