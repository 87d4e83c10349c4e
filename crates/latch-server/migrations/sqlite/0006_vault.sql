-- Passkey sync (latch-vault): the store keeps only what devices hand it, all of it either
-- public (the signed ledger's entries and device keys) or ciphertext (items, key shares, the
-- recovery-key wraps, pairing messages). Every key starts with the vault's id. The same in
-- postgres/ but for BLOB/BYTEA.

CREATE TABLE vaults (
    id          BLOB   NOT NULL PRIMARY KEY,
    user_id     BIGINT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    -- The guardians' name for this vault's escrow, and where they are (JSON, chosen by the
    -- devices): readable only by the account, so only it can spend the escrow's guesses.
    escrow_id   BLOB   NOT NULL,
    escrow      TEXT   NOT NULL,
    head_seq    BIGINT NOT NULL,
    head_hash   BLOB   NOT NULL,
    epoch       BIGINT NOT NULL,
    -- The last change's number: the change feed's cursor.
    change_seq  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE vault_ledger (
    vault_id  BLOB   NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    seq       BIGINT NOT NULL,
    entry     BLOB   NOT NULL,
    PRIMARY KEY (vault_id, seq)
);

-- Every device the ledger has named, and whether it is a member at the head: whose request
-- signatures are accepted.
CREATE TABLE vault_devices (
    vault_id     BLOB   NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    device_id    BLOB   NOT NULL,
    signing_key  BLOB   NOT NULL,
    hpke_key     BLOB   NOT NULL,
    member       BIGINT NOT NULL CHECK (member IN (0, 1)),
    PRIMARY KEY (vault_id, device_id)
);

CREATE TABLE vault_key_shares (
    vault_id   BLOB   NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    epoch      BIGINT NOT NULL,
    device_id  BLOB   NOT NULL,
    share      BLOB   NOT NULL,
    PRIMARY KEY (vault_id, device_id, epoch)
);

CREATE TABLE vault_wraps (
    vault_id  BLOB   NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    epoch     BIGINT NOT NULL,
    wrapped   BLOB   NOT NULL,
    PRIMARY KEY (vault_id, epoch)
);

-- The newest revision of each item (a tombstone once deleted, kept so it never comes back).
CREATE TABLE vault_items (
    vault_id    BLOB   NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    item_id     BLOB   NOT NULL,
    revision    BIGINT NOT NULL,
    epoch       BIGINT NOT NULL,
    deleted     BIGINT NOT NULL CHECK (deleted IN (0, 1)),
    sealed      BLOB   NOT NULL,
    change_seq  BIGINT NOT NULL,
    PRIMARY KEY (vault_id, item_id)
);
CREATE INDEX vault_items_by_change ON vault_items (vault_id, change_seq);

-- The messages of a pairing in progress, relayed between a new device and its sponsor.
CREATE TABLE vault_pairings (
    id            BLOB   NOT NULL PRIMARY KEY,
    vault_id      BLOB   NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    request       BLOB   NOT NULL,
    response      BLOB,
    confirmation  BLOB,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX vault_pairings_by_vault ON vault_pairings (vault_id);
