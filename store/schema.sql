CREATE TABLE blob_facts (
	engine_key VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	blob VARCHAR NOT NULL,
	facts BLOB NOT NULL,
	PRIMARY KEY (engine_key, kind, blob)
);

CREATE TABLE evaluator_state (
	ruleset VARCHAR NOT NULL,
	sha VARCHAR NOT NULL,
	format VARCHAR NOT NULL,
	created_at FLOAT NOT NULL,
	data BLOB NOT NULL,
	PRIMARY KEY (ruleset)
);

CREATE TABLE export_record (
	id INTEGER NOT NULL,
	at FLOAT NOT NULL,
	format VARCHAR NOT NULL,
	head VARCHAR,
	since VARCHAR NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_export_record_at ON export_record (at);

CREATE TABLE meta (
	"key" VARCHAR NOT NULL,
	value VARCHAR NOT NULL,
	PRIMARY KEY ("key")
);

CREATE TABLE problem (
	id INTEGER NOT NULL,
	at FLOAT NOT NULL,
	source VARCHAR NOT NULL,
	subject VARCHAR NOT NULL,
	message VARCHAR NOT NULL,
	PRIMARY KEY (id)
);

CREATE TABLE repository (
	id INTEGER NOT NULL,
	root VARCHAR NOT NULL,
	name VARCHAR NOT NULL,
	branch VARCHAR,
	last_collect_at FLOAT,
	head VARCHAR,
	PRIMARY KEY (id),
	UNIQUE (root)
);

CREATE TABLE test_signature (
	signature VARCHAR NOT NULL,
	exception VARCHAR NOT NULL,
	message VARCHAR NOT NULL,
	crash VARCHAR NOT NULL,
	PRIMARY KEY (signature)
);

CREATE TABLE "commit" (
	id INTEGER NOT NULL,
	repository_id INTEGER NOT NULL,
	sha VARCHAR NOT NULL,
	parents VARCHAR NOT NULL,
	author_name VARCHAR NOT NULL,
	author_email VARCHAR NOT NULL,
	authored_at INTEGER NOT NULL,
	author_offset INTEGER NOT NULL,
	committed_at INTEGER NOT NULL,
	committer_offset INTEGER NOT NULL,
	subject VARCHAR NOT NULL,
	issue_refs VARCHAR NOT NULL,
	is_merge BOOLEAN NOT NULL,
	seq INTEGER,
	reachable BOOLEAN NOT NULL,
	shallow BOOLEAN NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (repository_id, sha),
	FOREIGN KEY(repository_id) REFERENCES repository (id)
);

CREATE INDEX ix_commit_committed_at ON "commit" (committed_at);

CREATE INDEX ix_commit_seq ON "commit" (repository_id, seq);

CREATE INDEX ix_commit_sha ON "commit" (sha);

CREATE TABLE snapshot (
	id INTEGER NOT NULL,
	commit_id INTEGER NOT NULL,
	kind VARCHAR NOT NULL,
	ruleset VARCHAR NOT NULL,
	created_at FLOAT NOT NULL,
	stale BOOLEAN NOT NULL,
	base VARCHAR,
	PRIMARY KEY (id),
	UNIQUE (commit_id, kind, ruleset),
	FOREIGN KEY(commit_id) REFERENCES "commit" (id)
);

CREATE INDEX ix_snapshot_commit_id ON snapshot (commit_id);

CREATE TABLE test_run (
	id INTEGER NOT NULL,
	commit_id INTEGER NOT NULL,
	content_hash VARCHAR NOT NULL,
	link_source VARCHAR NOT NULL,
	path VARCHAR NOT NULL,
	root VARCHAR NOT NULL,
	created_at FLOAT NOT NULL,
	ingested_at FLOAT NOT NULL,
	duration FLOAT NOT NULL,
	exitcode INTEGER NOT NULL,
	passed INTEGER NOT NULL,
	failed INTEGER NOT NULL,
	errors INTEGER NOT NULL,
	skipped INTEGER NOT NULL,
	xfailed INTEGER NOT NULL,
	xpassed INTEGER NOT NULL,
	total INTEGER NOT NULL,
	collected INTEGER NOT NULL,
	deselected INTEGER NOT NULL,
	collection_errors INTEGER NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(commit_id) REFERENCES "commit" (id),
	UNIQUE (content_hash)
);

CREATE INDEX ix_test_run_commit_created ON test_run (commit_id, created_at);

CREATE INDEX ix_test_run_created_at ON test_run (created_at);

CREATE TABLE current_finding (
	id INTEGER NOT NULL,
	snapshot_id INTEGER NOT NULL,
	rule VARCHAR NOT NULL,
	path VARCHAR NOT NULL,
	line INTEGER NOT NULL,
	col INTEGER NOT NULL,
	text VARCHAR NOT NULL,
	message VARCHAR NOT NULL,
	detail VARCHAR NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(snapshot_id) REFERENCES snapshot (id) ON DELETE CASCADE
);

CREATE INDEX ix_current_finding_rule_path ON current_finding (rule, path);

CREATE INDEX ix_current_finding_snapshot_id ON current_finding (snapshot_id);

CREATE TABLE finding_change (
	id INTEGER NOT NULL,
	snapshot_id INTEGER NOT NULL,
	rule VARCHAR NOT NULL,
	path VARCHAR NOT NULL,
	line INTEGER NOT NULL,
	text VARCHAR NOT NULL,
	message VARCHAR NOT NULL,
	delta INTEGER NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(snapshot_id) REFERENCES snapshot (id) ON DELETE CASCADE
);

CREATE INDEX ix_finding_change_rule ON finding_change (rule);

CREATE INDEX ix_finding_change_snapshot_id ON finding_change (snapshot_id);

CREATE TABLE metric_value (
	snapshot_id INTEGER NOT NULL,
	metric VARCHAR NOT NULL,
	value FLOAT NOT NULL,
	PRIMARY KEY (snapshot_id, metric),
	FOREIGN KEY(snapshot_id) REFERENCES snapshot (id) ON DELETE CASCADE
);

CREATE INDEX ix_metric_value_metric ON metric_value (metric, snapshot_id);

CREATE TABLE test_collection_error (
	id INTEGER NOT NULL,
	run_id INTEGER NOT NULL,
	nodeid VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	cause VARCHAR NOT NULL,
	message VARCHAR NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(run_id) REFERENCES test_run (id) ON DELETE CASCADE
);

CREATE INDEX ix_test_collection_error_run_id ON test_collection_error (run_id);

CREATE TABLE test_failure (
	id INTEGER NOT NULL,
	run_id INTEGER NOT NULL,
	nodeid VARCHAR NOT NULL,
	path VARCHAR NOT NULL,
	outcome VARCHAR NOT NULL,
	stage VARCHAR NOT NULL,
	duration FLOAT NOT NULL,
	suites VARCHAR NOT NULL,
	message VARCHAR NOT NULL,
	crash_path VARCHAR NOT NULL,
	crash_line INTEGER,
	signature VARCHAR NOT NULL,
	fingerprint VARCHAR NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(run_id) REFERENCES test_run (id) ON DELETE CASCADE
);

CREATE INDEX ix_test_failure_nodeid ON test_failure (nodeid, fingerprint);

CREATE INDEX ix_test_failure_run_id ON test_failure (run_id);

CREATE INDEX ix_test_failure_signature ON test_failure (signature);

CREATE TABLE test_file_result (
	id INTEGER NOT NULL,
	run_id INTEGER NOT NULL,
	file VARCHAR NOT NULL,
	path VARCHAR NOT NULL,
	fingerprint VARCHAR NOT NULL,
	tests VARCHAR NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(run_id) REFERENCES test_run (id) ON DELETE CASCADE
);

CREATE INDEX ix_test_file_result_file ON test_file_result (file, fingerprint);

CREATE INDEX ix_test_file_result_run_id ON test_file_result (run_id);

CREATE TABLE test_suite_result (
	run_id INTEGER NOT NULL,
	suite VARCHAR NOT NULL,
	passed INTEGER NOT NULL,
	failed INTEGER NOT NULL,
	errors INTEGER NOT NULL,
	skipped INTEGER NOT NULL,
	xfailed INTEGER NOT NULL,
	xpassed INTEGER NOT NULL,
	not_run INTEGER NOT NULL,
	expected_missing INTEGER NOT NULL,
	target FLOAT,
	PRIMARY KEY (run_id, suite),
	FOREIGN KEY(run_id) REFERENCES test_run (id) ON DELETE CASCADE
);

CREATE TABLE test_warning (
	id INTEGER NOT NULL,
	run_id INTEGER NOT NULL,
	category VARCHAR NOT NULL,
	message VARCHAR NOT NULL,
	path VARCHAR NOT NULL,
	line INTEGER,
	coroutine VARCHAR NOT NULL,
	module VARCHAR NOT NULL,
	count INTEGER NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(run_id) REFERENCES test_run (id) ON DELETE CASCADE
);

CREATE INDEX ix_test_warning_run_id ON test_warning (run_id);

