-- The schema of migrations/sqlite/0001_initial.sql on PostgreSQL: the same tables,
-- columns and index names, so that both backends keep the same rules by the same
-- constraints. Timestamps stay BIGINT milliseconds since the Unix epoch, as on SQLite.

-- Accounts own users, roles and tokens. Secrets and tokens are kept only as SHA-256
-- digests in hex: they are random and high-entropy, so a digest cannot be reversed.
CREATE TABLE accounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    secret_digest TEXT NOT NULL,
    -- Kept in the same transaction as every create and delete, so that
    -- pagination.total costs one row read however large the account grows.
    -- Every user write locks this row first, which serialises the writes of one
    -- account across all the nodes sharing the database.
    user_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE roles (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    CONSTRAINT roles_account_id_name_key UNIQUE (account_id, name)
);

-- An identity column's sequence never goes back, so ids of deleted users are never
-- handed out again (AUTOINCREMENT on SQLite).
CREATE TABLE account_users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    name TEXT,
    role TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    external_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);

CREATE UNIQUE INDEX account_users_email_unique
    ON account_users (account_id, email_normalized);
CREATE INDEX account_users_by_account ON account_users (account_id, id);
CREATE INDEX account_users_by_role ON account_users (account_id, role);

-- OAuth access tokens (expiring) and SCIM bearer tokens (no expiry, revocable).
CREATE TABLE tokens (
    digest TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('oauth', 'scim')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);

CREATE INDEX tokens_by_account ON tokens (account_id, kind);

-- One row per change of a user, written in the change's own transaction.
-- before/after are JSON snapshots of the record; a delete leaves its tombstone here.
CREATE TABLE audit_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    at BIGINT NOT NULL,
    before JSONB,
    after JSONB
);

CREATE INDEX audit_events_by_account ON audit_events (account_id, id);
