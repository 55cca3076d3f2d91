-- 013: relay bytes in the bounty (docs/design.md: Bounty). Bytes a relay run by this cell carried for the
-- peer (relay_given_bytes) and bytes the peer's relay carried for this cell (relay_received_bytes),
-- summed since the peer was first seen. Carried bytes are credited as byte-hours at the protocol's
-- rate (bounty/relay-credit: RELAY_CREDIT_HOURS) in the balance, and compared in statements.
ALTER TABLE bounty_ledger ADD COLUMN relay_given_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bounty_ledger ADD COLUMN relay_received_bytes INTEGER NOT NULL DEFAULT 0;
