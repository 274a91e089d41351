-- Publication outbox (distributed mode): a message appended with an origin node stays
-- unpublished until the broker confirmed it, so a node that lost its broker connection (or
-- was killed) republishes it from here. Embedded mode appends with no origin: published at once.
ALTER TABLE messages ADD COLUMN origin_node TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN published INTEGER NOT NULL DEFAULT 1 CHECK (published IN (0, 1));

CREATE INDEX messages_unpublished ON messages (origin_node, id) WHERE published = 0;
