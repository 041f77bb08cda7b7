-- How many users hold each role, kept by triggers in the same transaction as every
-- change of a user, so that listing the roles (which every SCIM answer about a user
-- does) reads a few rows instead of counting the account's users.
ALTER TABLE roles ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;

UPDATE roles SET member_count = (
    SELECT count(*) FROM account_users u
    WHERE u.account_id = roles.account_id AND u.role = roles.name
);

CREATE TRIGGER account_users_count_new_role AFTER INSERT ON account_users
BEGIN
    UPDATE roles SET member_count = member_count + 1
    WHERE account_id = NEW.account_id AND name = NEW.role;
END;

CREATE TRIGGER account_users_count_removed_role AFTER DELETE ON account_users
BEGIN
    UPDATE roles SET member_count = member_count - 1
    WHERE account_id = OLD.account_id AND name = OLD.role;
END;

-- A renamed role is counted again by the rename itself: its holders move from a name
-- that no longer exists to one that already counts them.
CREATE TRIGGER account_users_count_changed_role AFTER UPDATE OF role ON account_users
WHEN OLD.role <> NEW.role
BEGIN
    UPDATE roles SET member_count = member_count - 1
    WHERE account_id = OLD.account_id AND name = OLD.role;
    UPDATE roles SET member_count = member_count + 1
    WHERE account_id = NEW.account_id AND name = NEW.role;
END;
