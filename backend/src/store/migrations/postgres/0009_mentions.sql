-- Mentions: the same schema as the SQLite 0009 (see that file).
ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN mentions_room BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE mentions (
    user_name  TEXT COLLATE "C" NOT NULL,
    room       TEXT COLLATE "C" NOT NULL,
    message_id BIGINT NOT NULL,
    PRIMARY KEY (user_name, room, message_id)
);

CREATE INDEX read_marks_by_room ON read_marks (room, user_name);
