-- Room events: the same schema as the SQLite 0007 (see that file). PostgreSQL widens the kind
-- check and adds the columns in place (constant defaults: no table rewrite).
ALTER TABLE messages
    ADD COLUMN target_id     BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN reply_to      BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN edited_ms     BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN deleted       BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN reply_count   BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN last_reply_ms BIGINT  NOT NULL DEFAULT 0,
    DROP CONSTRAINT messages_kind_check,
    ADD CONSTRAINT messages_kind_check CHECK (kind BETWEEN 0 AND 6);

CREATE INDEX messages_visible_by_room ON messages (room, id) WHERE kind < 3;
CREATE INDEX messages_replies ON messages (reply_to, id) WHERE reply_to <> 0;
CREATE INDEX messages_changes_by_target ON messages (target_id, id) WHERE target_id <> 0;

CREATE TABLE reactions (
    message_id BIGINT NOT NULL,
    emoji      TEXT COLLATE "C" NOT NULL,
    user_name  TEXT COLLATE "C" NOT NULL,
    ts_ms      BIGINT NOT NULL,
    change_id  BIGINT NOT NULL,
    PRIMARY KEY (message_id, emoji, user_name)
);
