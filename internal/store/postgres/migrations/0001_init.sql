-- ramp's first schema, created in the first schema of the connection's search_path.
--
-- Keys use the "C" collation, so they compare and sort as bytes, exactly as in the SQLite backend and in Go,
-- whatever the database's locale. Times are text in UTC, fixed width with nanoseconds
-- (2006-01-02T15:04:05.000000000Z): timestamptz keeps only microseconds, and the store promises exact round
-- trips; the fixed width makes text order time order, and a cast (at::timestamptz) still works in psql. NULL is
-- the zero time. Flag and segment documents and audit before/after are jsonb.

CREATE TABLE projects (
	key         text COLLATE "C" NOT NULL PRIMARY KEY,
	name        text NOT NULL,
	description text NOT NULL,
	created_at  text COLLATE "C"
);

CREATE TABLE environments (
	project    text COLLATE "C" NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
	key        text COLLATE "C" NOT NULL,
	name       text NOT NULL,
	revision   bigint NOT NULL,
	created_at text COLLATE "C",
	PRIMARY KEY (project, key)
);

CREATE TABLE flags (
	project     text COLLATE "C" NOT NULL,
	environment text COLLATE "C" NOT NULL,
	key         text COLLATE "C" NOT NULL,
	doc         jsonb NOT NULL,
	version     bigint NOT NULL,
	archived    boolean NOT NULL,
	updated_at  text COLLATE "C",
	updated_by  text NOT NULL,
	PRIMARY KEY (project, environment, key),
	FOREIGN KEY (project, environment) REFERENCES environments (project, key) ON DELETE CASCADE
);

CREATE TABLE segments (
	project     text COLLATE "C" NOT NULL,
	environment text COLLATE "C" NOT NULL,
	key         text COLLATE "C" NOT NULL,
	doc         jsonb NOT NULL,
	version     bigint NOT NULL,
	updated_at  text COLLATE "C",
	updated_by  text NOT NULL,
	PRIMARY KEY (project, environment, key),
	FOREIGN KEY (project, environment) REFERENCES environments (project, key) ON DELETE CASCADE
);

-- project and environment are NULL for keys without that scope; a foreign key with a NULL column is not
-- checked (MATCH SIMPLE), so an admin key scoped to a project references only the project.
CREATE TABLE api_keys (
	id           text COLLATE "C" NOT NULL PRIMARY KEY,
	kind         text NOT NULL,
	role         text NOT NULL,
	project      text COLLATE "C" REFERENCES projects (key) ON DELETE CASCADE,
	environment  text COLLATE "C",
	name         text NOT NULL,
	hash         bytea NOT NULL UNIQUE,
	created_at   text COLLATE "C",
	created_by   text NOT NULL,
	expires_at   text COLLATE "C",
	revoked_at   text COLLATE "C",
	last_used_at text COLLATE "C",
	FOREIGN KEY (project, environment) REFERENCES environments (project, key) ON DELETE CASCADE
);
CREATE INDEX api_keys_project ON api_keys (project, environment);

-- Writers hold the store's write lock until they commit, so IDs are handed out in commit order: a reader
-- paging by ID never sees a gap filled in later.
CREATE TABLE audit (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at          text COLLATE "C",
	actor       text NOT NULL,
	action      text NOT NULL,
	project     text COLLATE "C" NOT NULL,
	environment text COLLATE "C" NOT NULL,
	resource    text COLLATE "C" NOT NULL,
	key         text COLLATE "C" NOT NULL,
	version     bigint NOT NULL,
	before      jsonb,
	after       jsonb
);
CREATE INDEX audit_project ON audit (project, environment, id);
CREATE INDEX audit_resource ON audit (resource, key, id);
CREATE INDEX audit_key ON audit (key, id);
CREATE INDEX audit_at ON audit (at);
