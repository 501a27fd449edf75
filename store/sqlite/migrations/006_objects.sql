-- The artifact store's metadata (package artifacts): buckets, objects and
-- multipart uploads with their parts. Content is in files under
-- DATA/artifacts/_content named by the content columns. Keys compare as bytes
-- (BINARY collation), which is S3's UTF-8 binary order.
CREATE TABLE buckets (
    name     TEXT PRIMARY KEY,
    created  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE objects (
    bucket   TEXT NOT NULL REFERENCES buckets (name),
    key      TEXT NOT NULL,
    content  TEXT NOT NULL,
    doc      BLOB NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE INDEX objects_by_content ON objects (content);
CREATE TABLE uploads (
    id       TEXT PRIMARY KEY,
    bucket   TEXT NOT NULL REFERENCES buckets (name),
    key      TEXT NOT NULL,
    doc      BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX uploads_by_key ON uploads (bucket, key, id);
CREATE TABLE upload_parts (
    upload   TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    number   INTEGER NOT NULL,
    content  TEXT NOT NULL,
    doc      BLOB NOT NULL,
    PRIMARY KEY (upload, number)
) WITHOUT ROWID;
CREATE INDEX upload_parts_by_content ON upload_parts (content);
