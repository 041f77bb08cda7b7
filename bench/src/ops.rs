//! The operations measured, each a Lua `request` function for wrk, and the targets set
//! for them as ratios to the `/healthz` ceiling.

use crate::seed::{
    Seeded, BENCH_APP_KEY, BENCH_EMAIL_DOMAIN, BENCH_EMAIL_LOCAL_PREFIX, BENCH_SECRET,
};
use crate::wrk::lua_string;

/// One measured operation.
pub struct Operation {
    /// A stable key for the JSON table.
    pub key: &'static str,
    pub label: String,
    /// The least ratio to `/healthz` it should reach, if one is set.
    pub target: Option<f64>,
    pub script: String,
}

/// What the scripts need to address the seeded data.
pub struct Context<'a> {
    pub seeded: &'a Seeded,
    pub token: &'a str,
    /// Tells the emails of one run's creates from another's.
    pub tag: String,
}

const USERS_PATH: &str = "/apps/bench/account_users";

impl Context<'_> {
    fn headers(&self) -> String {
        format!(
            "local headers = {{ [\"Authorization\"] = {}, [\"Content-Type\"] = \"application/json\" }}\n",
            lua_string(&format!("Bearer {}", self.token))
        )
    }

    /// A random id of a seeded user of the benchmarked account.
    fn random_id(&self) -> String {
        format!(
            "math.random({}, {})",
            self.seeded.first_user_id, self.seeded.last_user_id
        )
    }

    fn list_page(&self, page: u64) -> Operation {
        Operation {
            key: if page == 1 { "list_page_1" } else { "list_page_deep" },
            label: if page == 1 {
                "GET the first page of 100 users".into()
            } else {
                "GET the last page of 100 users".into()
            },
            target: Some(0.25),
            script: format!(
                "{}request = function()\n  return wrk.format(\"GET\", \"{USERS_PATH}?page={page}&count=100\", headers)\nend\n",
                self.headers()
            ),
        }
    }
}

/// The ceiling: an endpoint that does no work.
pub fn healthz() -> Operation {
    Operation {
        key: "healthz",
        label: "GET /healthz".into(),
        target: None,
        script: "request = function()\n  return wrk.format(\"GET\", \"/healthz\")\nend\n".into(),
    }
}

/// The reads, in the order they run, before any write has changed the data.
pub fn reads(cx: &Context) -> Vec<Operation> {
    let body = format!(
        "{{\"client_id\":\"{BENCH_APP_KEY}\",\"client_secret\":\"{BENCH_SECRET}\",\"grant_type\":\"client_credentials\"}}"
    );
    let last_page = (cx.seeded.shape.bench_users / 100).max(1);
    let users = cx.seeded.shape.bench_users.max(1);
    let mut reads = vec![
        Operation {
            key: "token",
            label: "POST /oauth/token".into(),
            target: Some(0.5),
            script: format!(
                "local body = {}\nrequest = function()\n  return wrk.format(\"POST\", \"/oauth/token\", {{ [\"Content-Type\"] = \"application/json\" }}, body)\nend\n",
                lua_string(&body)
            ),
        },
        Operation {
            key: "get_user",
            label: "GET one user".into(),
            target: Some(0.6),
            script: format!(
                "{}request = function()\n  return wrk.format(\"GET\", \"{USERS_PATH}/\" .. {}, headers)\nend\n",
                cx.headers(),
                cx.random_id()
            ),
        },
        cx.list_page(1),
    ];
    if last_page > 1 {
        reads.push(cx.list_page(last_page));
    }
    reads.push(Operation {
        key: "scim_lookup",
        label: "SCIM GET /Users?filter=userName eq".into(),
        target: Some(0.5),
        script: format!(
            "local headers = {{ [\"Authorization\"] = {} }}\n\
             request = function()\n  \
             local filter = \"userName%20eq%20%22{BENCH_EMAIL_LOCAL_PREFIX}\" .. math.random(0, {}) .. \"%40{BENCH_EMAIL_DOMAIN}%22\"\n  \
             return wrk.format(\"GET\", \"/scim/v2/Users?filter=\" .. filter, headers)\nend\n",
            lua_string(&format!("Bearer {}", cx.seeded.scim_token)),
            users - 1
        ),
    });
    reads
}

/// Creates of new users, each with an email never used before.
pub fn create(cx: &Context, phase: &str) -> Operation {
    Operation {
        key: "create",
        label: "POST create".into(),
        target: Some(0.15),
        script: format!(
            "{}local n = 0\nrequest = function()\n  n = n + 1\n  \
             local body = '{{\"account_user\":{{\"email\":\"new-{}-{phase}-' .. n .. '@bench.example\",\"role\":\"viewer\"}}}}'\n  \
             return wrk.format(\"POST\", \"{USERS_PATH}\", headers, body)\nend\n",
            cx.headers(),
            cx.tag
        ),
    }
}

/// Renames of random seeded users, each to a name not held before, so that every one
/// is a real write with its audit event.
pub fn update(cx: &Context, phase: &str) -> Operation {
    Operation {
        key: "update",
        label: "PUT update".into(),
        target: None,
        script: format!(
            "{}local n = 0\nrequest = function()\n  n = n + 1\n  \
             local body = '{{\"account_user\":{{\"name\":\"Renamed {}-{phase}-' .. n .. '\"}}}}'\n  \
             return wrk.format(\"PUT\", \"{USERS_PATH}/\" .. {}, headers, body)\nend\n",
            cx.headers(),
            cx.tag,
            cx.random_id()
        ),
    }
}

/// Deletes of users by ascending id from `first_id`: the users the creates made.
pub fn delete(cx: &Context, first_id: i64) -> Operation {
    Operation {
        key: "delete",
        label: "DELETE".into(),
        target: None,
        script: format!(
            "{}local next_id = {first_id}\nrequest = function()\n  local id = next_id\n  next_id = next_id + 1\n  \
             return wrk.format(\"DELETE\", \"{USERS_PATH}/\" .. id, headers)\nend\n",
            cx.headers()
        ),
    }
}
