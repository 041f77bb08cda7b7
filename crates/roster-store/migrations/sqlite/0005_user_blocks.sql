-- The users of each account in blocks of consecutive ids, with how many users each
-- block holds, so that a listing can start at page N without stepping over the
-- (N - 1) * count users before it: it adds up block sizes until it reaches the page,
-- then steps over fewer than a block's worth of users. Triggers keep the blocks in the
-- same transaction as every create and delete.
--
-- A block holds the users whose ids run from its first_id up to the next block's.
-- New users (ids only grow) join the last block until it has 256, then open the next;
-- deletes shrink their block, and a block left empty is removed.
CREATE TABLE user_blocks (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    first_id INTEGER NOT NULL,
    users INTEGER NOT NULL,
    PRIMARY KEY (account_id, first_id)
) WITHOUT ROWID;

INSERT INTO user_blocks (account_id, first_id, users)
SELECT account_id, min(id), count(*) FROM (
    SELECT account_id, id,
           (row_number() OVER (PARTITION BY account_id ORDER BY id) - 1) / 256 AS block
    FROM account_users
)
GROUP BY account_id, block;

CREATE TRIGGER account_users_join_block AFTER INSERT ON account_users
BEGIN
    -- Open a block unless the block the id falls in has room or is not the last one.
    INSERT INTO user_blocks (account_id, first_id, users)
    SELECT NEW.account_id, NEW.id, 0
    WHERE coalesce((
        SELECT b.users < 256 OR EXISTS (
            SELECT 1 FROM user_blocks later
            WHERE later.account_id = NEW.account_id AND later.first_id > NEW.id
        )
        FROM user_blocks b
        WHERE b.account_id = NEW.account_id AND b.first_id <= NEW.id
        ORDER BY b.first_id DESC LIMIT 1
    ), 0) = 0;
    UPDATE user_blocks SET users = users + 1
    WHERE account_id = NEW.account_id AND first_id = (
        SELECT max(first_id) FROM user_blocks
        WHERE account_id = NEW.account_id AND first_id <= NEW.id
    );
END;

CREATE TRIGGER account_users_leave_block AFTER DELETE ON account_users
BEGIN
    UPDATE user_blocks SET users = users - 1
    WHERE account_id = OLD.account_id AND first_id = (
        SELECT max(first_id) FROM user_blocks
        WHERE account_id = OLD.account_id AND first_id <= OLD.id
    );
    DELETE FROM user_blocks WHERE account_id = OLD.account_id AND users = 0 AND first_id = (
        SELECT max(first_id) FROM user_blocks
        WHERE account_id = OLD.account_id AND first_id <= OLD.id
    );
END;
