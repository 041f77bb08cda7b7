-- Accounts own users, roles and tokens. Secrets and tokens are kept only as SHA-256
-- digests in hex: they are random and high-entropy, so a digest cannot be reversed.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    secret_digest TEXT NOT NULL,
    -- Kept in the same transaction as every create and delete, so that
    -- pagination.total costs one row read however large the account grows.
    user_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    UNIQUE (account_id, name)
);

-- AUTOINCREMENT so that ids of deleted users are never handed out again.
CREATE TABLE account_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    name TEXT,
    role TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    external_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE UNIQUE INDEX account_users_email_unique
    ON account_users (account_id, email_normalized);
CREATE INDEX account_users_by_account ON account_users (account_id, id);
CREATE INDEX account_users_by_role ON account_users (account_id, role);

-- OAuth access tokens (expiring) and SCIM bearer tokens (no expiry, revocable).
CREATE TABLE tokens (
    digest TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('oauth', 'scim')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER
) WITHOUT ROWID;

CREATE INDEX tokens_by_account ON tokens (account_id, kind);

-- One row per change of a user, written in the change's own transaction.
-- before/after are JSON snapshots of the record; a delete leaves its tombstone here.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    at INTEGER NOT NULL,
    before TEXT,
    after TEXT
);

CREATE INDEX audit_events_by_account ON audit_events (account_id, id);
