CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    token        TEXT NOT NULL,
    grp          TEXT NOT NULL,
    status       TEXT NOT NULL,
    active       INTEGER NOT NULL,
    ended        INTEGER NOT NULL,
    doc          BLOB NOT NULL,
    row_version  INTEGER NOT NULL
);
CREATE UNIQUE INDEX jobs_by_token ON jobs (owner, token);
CREATE INDEX jobs_by_group ON jobs (owner, grp);
CREATE INDEX jobs_active ON jobs (id) WHERE active = 1;
CREATE INDEX jobs_ended ON jobs (ended) WHERE active = 0;

-- Artifact objects whose records were deleted (a deleted pipeline, pruned
-- history) and whose files the janitor deletes.
CREATE TABLE artifact_garbage (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket  TEXT NOT NULL,
    key     TEXT NOT NULL
);

CREATE INDEX executions_ended ON executions (updated) WHERE active = 0;
