-- CodeBuild: projects and builds, each a JSON document with the columns
-- the service looks records up by.
CREATE TABLE cb_projects (
    name         TEXT PRIMARY KEY,
    doc          BLOB NOT NULL,
    row_version  INTEGER NOT NULL
);

CREATE TABLE cb_builds (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    project      TEXT NOT NULL,
    token        TEXT NOT NULL,
    active       INTEGER NOT NULL,
    doc          BLOB NOT NULL,
    row_version  INTEGER NOT NULL
);
CREATE INDEX cb_builds_by_project ON cb_builds (project, seq);
CREATE INDEX cb_builds_by_token ON cb_builds (project, token) WHERE token != '';
CREATE INDEX cb_builds_active ON cb_builds (seq) WHERE active = 1;
