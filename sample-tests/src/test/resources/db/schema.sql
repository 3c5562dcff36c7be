-- The schema migration of PostgresFreshDatabasePerTest: run once, by psql, into the frozen state.
-- Changing this file changes its hash, the frozen state's key: the next run makes the state anew.
CREATE TABLE customers (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text   NOT NULL UNIQUE
);

INSERT INTO customers (email) VALUES ('seed@example.com');
