-- SCIM userNames set apart from the email, and what SCIM Groups need of their roles.

-- The userName as given, when it is not the email; NULL means it is the email and
-- follows it. Every user made before this migration, and every user made through the
-- account-users API, has NULL here.
ALTER TABLE account_users ADD COLUMN user_name TEXT;
-- user_name folded to lower case by Roster (as email_normalized is), NULL with it.
ALTER TABLE account_users ADD COLUMN user_name_normalized TEXT;
-- The effective userName's key. Generated, so it follows the email of users whose
-- userName is their email without any write having to remember it. VIRTUAL because
-- SQLite can add only virtual generated columns to an existing table; the index
-- below stores it all the same.
ALTER TABLE account_users ADD COLUMN user_name_key TEXT
    GENERATED ALWAYS AS (coalesce(user_name_normalized, email_normalized)) VIRTUAL;

-- One userName per account regardless of case, under concurrent writers too; it also
-- serves `userName eq "..."`, the look-up identity providers make before every create.
CREATE UNIQUE INDEX account_users_user_name_unique
    ON account_users (account_id, user_name_key);

-- The identity provider's id for the group, and the group's meta.created and
-- meta.lastModified in milliseconds. NULL dates mean "as old as the account": the
-- default roles are made with it, and roles made before this migration have no
-- better date.
ALTER TABLE roles ADD COLUMN external_id TEXT;
ALTER TABLE roles ADD COLUMN created_at INTEGER;
ALTER TABLE roles ADD COLUMN updated_at INTEGER;
