-- Sessions (refresh-token families): one per sign-in. Every refresh token and every access
-- token (claim `sid`) belongs to one; ending the session ends them all, whichever refresh
-- generation issued them. PostgreSQL is the truth; Redis only caches a session's state.
CREATE TABLE auth_sessions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    principal       text NOT NULL,            -- 'buyer:<id>' or 'staff:<id>'
    created_at      timestamptz NOT NULL DEFAULT now(),
    ended_at        timestamptz,
    end_reason      text CHECK (end_reason IN ('LOGOUT', 'LOGOUT_EVERYWHERE', 'REFRESH_TOKEN_REUSED')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX auth_sessions_principal_idx ON auth_sessions (principal) WHERE ended_at IS NULL;

-- Each live refresh token of before becomes a session of its own (its id derived from the
-- stored hash, so both statements agree); used or expired ones are of no further use.
ALTER TABLE refresh_tokens ADD COLUMN session_id uuid REFERENCES auth_sessions (id);
INSERT INTO auth_sessions (id, principal, created_at)
    SELECT md5(token_hash)::uuid, principal, created_at FROM refresh_tokens
    WHERE revoked_at IS NULL AND expires_at > now();
UPDATE refresh_tokens SET session_id = md5(token_hash)::uuid WHERE revoked_at IS NULL AND expires_at > now();
DELETE FROM refresh_tokens WHERE session_id IS NULL;
ALTER TABLE refresh_tokens ALTER COLUMN session_id SET NOT NULL;
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
-- "Revoked" now only means "rotated" (used once): ending a session is recorded on the session.
ALTER TABLE refresh_tokens RENAME COLUMN revoked_at TO used_at;
DROP INDEX refresh_tokens_principal_idx;
