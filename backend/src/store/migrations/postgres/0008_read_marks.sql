-- Read state: the same schema as the SQLite 0008 (see that file).
CREATE TABLE read_marks (
    user_name    TEXT COLLATE "C" NOT NULL,
    room         TEXT COLLATE "C" NOT NULL,
    last_read_id BIGINT NOT NULL,
    PRIMARY KEY (user_name, room)
);

INSERT INTO read_marks (user_name, room, last_read_id)
SELECT user_name, room,
       COALESCE((SELECT id FROM messages m WHERE m.room = members.room ORDER BY id DESC LIMIT 1), 0)
FROM members;

CREATE INDEX messages_unread ON messages (room, id, user_name) WHERE kind = 0 AND NOT deleted;
