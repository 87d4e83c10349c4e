-- One escrow guardian's records: for each escrow (named by a random id the vault keeps), its
-- current registration and one staged registration waiting to replace it. The secret columns
-- are NULL once the guesses ran out: the record is destroyed.
CREATE TABLE escrows (
    id BLOB PRIMARY KEY,
    -- The Ed25519 key that may replace the registration (the recovery signing key).
    owner BLOB NOT NULL,
    version BLOB,
    share_index BIGINT,
    threshold BIGINT,
    allowed BIGINT,
    attempted BIGINT,
    salt BLOB,
    commitment BLOB,
    oprf_key BLOB,
    masked_share BLOB,
    unlock_tag BLOB,
    wrapped_key BLOB,
    -- The staged registration (CBOR), until its commit.
    staged BLOB,
    updated_at BIGINT NOT NULL
);
