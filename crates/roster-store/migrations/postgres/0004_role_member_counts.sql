-- How many users hold each role, kept by a trigger in the same transaction as every
-- change of a user, so that listing the roles (which every SCIM answer about a user
-- does) reads a few rows instead of counting the account's users.
ALTER TABLE roles ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;

UPDATE roles SET member_count = (
    SELECT count(*) FROM account_users u
    WHERE u.account_id = roles.account_id AND u.role = roles.name
);

-- A renamed role is counted again by the rename itself: its holders move from a name
-- that no longer exists to one that already counts them.
CREATE FUNCTION roster_count_role_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.role <> NEW.role) THEN
        UPDATE roles SET member_count = member_count - 1
        WHERE account_id = OLD.account_id AND name = OLD.role;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND OLD.role <> NEW.role) THEN
        UPDATE roles SET member_count = member_count + 1
        WHERE account_id = NEW.account_id AND name = NEW.role;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER account_users_count_roles
AFTER INSERT OR DELETE OR UPDATE OF role ON account_users
FOR EACH ROW EXECUTE FUNCTION roster_count_role_members();
