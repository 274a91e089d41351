-- Failed sign-ins (docs/security.md "Sign-in throttling"), kept in the store so that a restart
-- does not forget them and every node of a cluster sees the same counts. One row per key:
-- "pair:<address> <account>", "address:<address>" or "account:<account>". A key whose last
-- failure is older than --login-forget-minutes counts from zero again, and is purged.
CREATE TABLE login_failures (
    key             TEXT    NOT NULL PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX login_failures_by_time ON login_failures (last_failure_ms);
