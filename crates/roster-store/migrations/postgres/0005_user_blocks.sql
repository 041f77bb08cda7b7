-- The users of each account in blocks of consecutive ids, with how many users each
-- block holds, so that a listing can start at page N without stepping over the
-- (N - 1) * count users before it: it adds up block sizes until it reaches the page,
-- then steps over fewer than a block's worth of users. A trigger keeps the blocks in
-- the same transaction as every create and delete.
--
-- A block holds the users whose ids run from its first_id up to the next block's.
-- New users join the block their id falls in; the last block takes 256, then the next
-- user opens a new one. Ids from a sequence can commit out of order, so a user may
-- also join a block before the last; the trigger takes the account's row lock first,
-- so that concurrent creates and deletes in one account update its blocks one at a
-- time. Deletes shrink their block, and a block left empty is removed.
CREATE TABLE user_blocks (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    first_id BIGINT NOT NULL,
    users BIGINT NOT NULL,
    PRIMARY KEY (account_id, first_id)
);

INSERT INTO user_blocks (account_id, first_id, users)
SELECT account_id, min(id), count(*) FROM (
    SELECT account_id, id,
           (row_number() OVER (PARTITION BY account_id ORDER BY id) - 1) / 256 AS block
    FROM account_users
) numbered
GROUP BY account_id, block;

CREATE FUNCTION roster_keep_user_blocks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    account BIGINT;
    user_id BIGINT;
    block_start BIGINT;
    block_users BIGINT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        account := NEW.account_id;
        user_id := NEW.id;
    ELSE
        account := OLD.account_id;
        user_id := OLD.id;
    END IF;
    PERFORM 1 FROM accounts WHERE id = account FOR UPDATE;

    SELECT first_id, users INTO block_start, block_users FROM user_blocks
    WHERE account_id = account AND first_id <= user_id
    ORDER BY first_id DESC LIMIT 1;

    IF TG_OP = 'INSERT' THEN
        IF block_start IS NULL OR (block_users >= 256 AND NOT EXISTS (
            SELECT 1 FROM user_blocks WHERE account_id = account AND first_id > user_id
        )) THEN
            INSERT INTO user_blocks (account_id, first_id, users) VALUES (account, user_id, 1);
        ELSE
            UPDATE user_blocks SET users = users + 1
            WHERE account_id = account AND first_id = block_start;
        END IF;
    ELSIF block_users <= 1 THEN
        DELETE FROM user_blocks WHERE account_id = account AND first_id = block_start;
    ELSE
        UPDATE user_blocks SET users = users - 1
        WHERE account_id = account AND first_id = block_start;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER account_users_keep_blocks
AFTER INSERT OR DELETE ON account_users
FOR EACH ROW EXECUTE FUNCTION roster_keep_user_blocks();
