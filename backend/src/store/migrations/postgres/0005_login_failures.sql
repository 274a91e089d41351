-- Failed sign-ins: the same schema as the SQLite 0005 (see that file).
CREATE TABLE login_failures (
    key             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_ms BIGINT NOT NULL
);

CREATE INDEX login_failures_by_time ON login_failures (last_failure_ms);
