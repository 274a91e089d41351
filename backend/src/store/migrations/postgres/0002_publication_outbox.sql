-- Publication outbox (distributed mode): a message appended with an origin node stays
-- unpublished until the broker confirmed it, so a node that lost its broker connection (or
-- was killed) republishes it from here. Embedded mode appends with no origin: published at once.
ALTER TABLE messages ADD COLUMN origin_node TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN published BOOLEAN NOT NULL DEFAULT TRUE;

CREATE INDEX messages_unpublished ON messages (origin_node, id) WHERE NOT published;
