-- One escrow guardian's records: for each escrow (named by a random id the vault keeps), its
-- current registration and one staged registration waiting to replace it. The secret columns
-- are NULL once the guesses ran out: the record is destroyed.
CREATE TABLE escrows (
    id BYTEA PRIMARY KEY,
    -- The Ed25519 key that may replace the registration (the recovery signing key).
    owner BYTEA NOT NULL,
    version BYTEA,
    share_index BIGINT,
    threshold BIGINT,
    allowed BIGINT,
    attempted BIGINT,
    salt BYTEA,
    commitment BYTEA,
    oprf_key BYTEA,
    masked_share BYTEA,
    unlock_tag BYTEA,
    wrapped_key BYTEA,
    -- The staged registration (CBOR), until its commit.
    staged BYTEA,
    updated_at BIGINT NOT NULL
);
