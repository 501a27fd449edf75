-- CodeDeploy: applications, deployment groups, deployment configs,
-- on-premises instances and application revisions, each a JSON document
-- named by its kind, its scope (a group's or revision's application) and
-- its name.
CREATE TABLE cd_records (
    kind         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    name         TEXT NOT NULL,
    doc          BLOB NOT NULL,
    row_version  INTEGER NOT NULL,
    PRIMARY KEY (kind, scope, name)
);
CREATE INDEX cd_records_by_scope ON cd_records (scope) WHERE scope != '';
