-- ramp's first schema. Keys compare and sort as bytes (SQLite's BINARY collation). Times are TEXT in UTC,
-- fixed width with nanoseconds (2006-01-02T15:04:05.000000000Z), so they sort as they compare; NULL is the zero
-- time. Flag and segment documents are the model's JSON.

CREATE TABLE projects (
	key         TEXT NOT NULL PRIMARY KEY,
	name        TEXT NOT NULL,
	description TEXT NOT NULL,
	created_at  TEXT
) STRICT;

CREATE TABLE environments (
	project    TEXT NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
	key        TEXT NOT NULL,
	name       TEXT NOT NULL,
	revision   INTEGER NOT NULL,
	created_at TEXT,
	PRIMARY KEY (project, key)
) STRICT;

CREATE TABLE flags (
	project     TEXT NOT NULL,
	environment TEXT NOT NULL,
	key         TEXT NOT NULL,
	doc         TEXT NOT NULL,
	version     INTEGER NOT NULL,
	archived    INTEGER NOT NULL,
	updated_at  TEXT,
	updated_by  TEXT NOT NULL,
	PRIMARY KEY (project, environment, key),
	FOREIGN KEY (project, environment) REFERENCES environments (project, key) ON DELETE CASCADE
) STRICT;

CREATE TABLE segments (
	project     TEXT NOT NULL,
	environment TEXT NOT NULL,
	key         TEXT NOT NULL,
	doc         TEXT NOT NULL,
	version     INTEGER NOT NULL,
	updated_at  TEXT,
	updated_by  TEXT NOT NULL,
	PRIMARY KEY (project, environment, key),
	FOREIGN KEY (project, environment) REFERENCES environments (project, key) ON DELETE CASCADE
) STRICT;

-- project and environment are NULL for keys without that scope; a foreign key with a NULL column is not
-- checked, so an admin key scoped to a project references only the project.
CREATE TABLE api_keys (
	id           TEXT NOT NULL PRIMARY KEY,
	kind         TEXT NOT NULL,
	role         TEXT NOT NULL,
	project      TEXT REFERENCES projects (key) ON DELETE CASCADE,
	environment  TEXT,
	name         TEXT NOT NULL,
	hash         BLOB NOT NULL UNIQUE,
	created_at   TEXT,
	created_by   TEXT NOT NULL,
	expires_at   TEXT,
	revoked_at   TEXT,
	last_used_at TEXT,
	FOREIGN KEY (project, environment) REFERENCES environments (project, key) ON DELETE CASCADE
) STRICT;
CREATE INDEX api_keys_project ON api_keys (project, environment);

-- AUTOINCREMENT: IDs are never reused, even after the newest entry is gone.
CREATE TABLE audit (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	at          TEXT,
	actor       TEXT NOT NULL,
	action      TEXT NOT NULL,
	project     TEXT NOT NULL,
	environment TEXT NOT NULL,
	resource    TEXT NOT NULL,
	key         TEXT NOT NULL,
	version     INTEGER NOT NULL,
	before      TEXT,
	after       TEXT
) STRICT;
CREATE INDEX audit_project ON audit (project, environment, id);
CREATE INDEX audit_resource ON audit (resource, key, id);
CREATE INDEX audit_key ON audit (key, id);
CREATE INDEX audit_at ON audit (at);
