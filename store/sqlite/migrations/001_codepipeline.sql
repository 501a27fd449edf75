CREATE TABLE pipelines (
    name         TEXT PRIMARY KEY,
    version      INTEGER NOT NULL,
    declaration  BLOB NOT NULL,
    created      INTEGER NOT NULL,
    updated      INTEGER NOT NULL,
    tags         BLOB NOT NULL,
    transitions  BLOB NOT NULL,
    next_seq     INTEGER NOT NULL DEFAULT 1,
    row_version  INTEGER NOT NULL
);

CREATE TABLE pipeline_versions (
    name         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    declaration  BLOB NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE executions (
    id               TEXT PRIMARY KEY,
    pipeline         TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    pipeline_version INTEGER NOT NULL,
    status           TEXT NOT NULL,
    active           INTEGER NOT NULL,
    client_token     TEXT,
    started          INTEGER NOT NULL,
    updated          INTEGER NOT NULL,
    doc              BLOB NOT NULL,
    row_version      INTEGER NOT NULL
);
CREATE UNIQUE INDEX executions_by_seq ON executions (pipeline, seq);
CREATE UNIQUE INDEX executions_by_token ON executions (pipeline, client_token) WHERE client_token IS NOT NULL;
CREATE INDEX executions_active ON executions (pipeline, seq) WHERE active = 1;

CREATE TABLE stage_runs (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id TEXT NOT NULL,
    pipeline     TEXT NOT NULL,
    stage        TEXT NOT NULL,
    status       TEXT NOT NULL,
    doc          BLOB NOT NULL,
    row_version  INTEGER NOT NULL
);
CREATE UNIQUE INDEX stage_runs_by_execution ON stage_runs (execution_id, stage);
CREATE INDEX stage_runs_latest ON stage_runs (pipeline, stage, seq);

CREATE TABLE action_runs (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    execution_id TEXT NOT NULL,
    pipeline     TEXT NOT NULL,
    stage        TEXT NOT NULL,
    action       TEXT NOT NULL,
    status       TEXT NOT NULL,
    doc          BLOB NOT NULL,
    row_version  INTEGER NOT NULL
);
CREATE INDEX action_runs_by_execution ON action_runs (execution_id, seq);
CREATE INDEX action_runs_latest ON action_runs (pipeline, stage, action, seq);
CREATE INDEX action_runs_by_pipeline ON action_runs (pipeline, seq);
