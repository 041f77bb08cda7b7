-- Issuing a token sweeps the account's expired ones. Without this index the sweep
-- read every live token of the account, so an account that asks for tokens often made
-- each new one slower to issue.
CREATE INDEX tokens_by_expiry ON tokens (account_id, expires_at);
