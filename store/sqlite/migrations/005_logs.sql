-- CloudWatch Logs: groups and streams. Events are in files (see package logs).
CREATE TABLE log_groups (
    name  TEXT PRIMARY KEY,
    doc   BLOB NOT NULL
);
CREATE TABLE log_streams (
    grp   TEXT NOT NULL REFERENCES log_groups (name) ON DELETE CASCADE,
    name  TEXT NOT NULL,
    doc   BLOB NOT NULL,
    PRIMARY KEY (grp, name)
);
